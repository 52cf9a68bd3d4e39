import request from 'supertest';
import { io, type Socket } from 'socket.io-client';
import { Client } from 'pg';
import { startAppProcess, type AppProcess } from '../support/processes';
import { PASSWORD, uniqueEmail } from '../support/browser';

/** The revocation bound of D6, asserted with D15's 3× margin; the measured delays are printed. */
const BOUND_MS = 1_000;

/**
 * Across processes: a socket bound to a session on each of two instances; a
 * revocation through one reaches both sockets (`session.ended`, then the server disconnects)
 * within the bound, through the revocation bus.
 */
describe.each([
  ['postgres', { REVOCATION_BUS: 'postgres' }],
  ['redis', { REVOCATION_BUS: 'redis' }],
])('sockets on two app processes, %s broadcast', (bus, env) => {
  let a: AppProcess;
  let b: AppProcess;
  const open: Socket[] = [];

  beforeAll(async () => {
    [a, b] = await Promise.all([startAppProcess(env), startAppProcess(env)]);
  }, 90_000);
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });
  afterAll(async () => {
    await Promise.all([a, b].filter(Boolean).map((p) => p.stop()));
  });

  const bearerSession = async (on: AppProcess, email: string) => {
    const res = await request(on.url).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
    expect(res.status).toBe(200);
    return res.body as { accessToken: string; refreshToken: string };
  };

  /** Connects to an instance's `/events` with the token; resolves on `session` with a promise of the socket's end. */
  async function socketOn(instance: AppProcess, token: string) {
    const socket = io(`${instance.url}/events`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token } });
    open.push(socket);
    const ended = new Promise<{ sessionId: string; why: string; at: number; reason: string }>((resolve, reject) => {
      let payload: { sessionId: string; reason: string } | undefined;
      socket.once('session.ended', (p: { sessionId: string; reason: string }) => (payload = p));
      socket.once('disconnect', (reason) =>
        payload ? resolve({ sessionId: payload.sessionId, why: payload.reason, at: Date.now(), reason }) : reject(new Error(`disconnected (${reason}) without session.ended`)),
      );
    });
    ended.catch(() => undefined); // observed by the test when it matters
    const sessionId = await new Promise<string>((resolve, reject) => {
      socket.once('session', (p: { sessionId: string }) => resolve(p.sessionId));
      socket.once('connect_error', (e) => reject(new Error(`connect_error ${JSON.stringify((e as { data?: unknown }).data)}`)));
    });
    // The instance has the session in its revocation cache now, so the end below means something (D3).
    expect(await socket.timeout(2_000).emitWithAck('whoami')).toMatchObject({ sessionId });
    return { socket, sessionId, ended };
  }

  it('logout through A: the sockets on A and on B both receive session.ended and are disconnected within the bound', async () => {
    const email = uniqueEmail('sockets');
    expect((await request(a.url).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201);
    const session = await bearerSession(a, email);
    const onA = await socketOn(a, session.accessToken);
    const onB = await socketOn(b, session.accessToken);
    expect(onB.sessionId).toBe(onA.sessionId);
    // B accepts the token over HTTP too before the revocation.
    expect((await request(b.url).get('/whoami').set('Authorization', `Bearer ${session.accessToken}`)).status).toBe(200);

    const started = Date.now();
    expect((await request(a.url).post('/auth/logout').send({ refreshToken: session.refreshToken })).status).toBe(204);
    const [endA, endB] = await Promise.all([onA.ended, onB.ended]);
    console.log(`[${bus}] logout on A: socket on A closed after ${endA.at - started} ms, socket on B after ${endB.at - started} ms (bound ${BOUND_MS} ms)`);
    for (const end of [endA, endB]) {
      expect(end.sessionId).toBe(onA.sessionId);
      expect(end.why).toBe('revoked'); // session.ended's reason, on the other instance too
      expect(end.reason).toBe('io server disconnect');
      expect(end.at - started).toBeLessThanOrEqual(3 * BOUND_MS);
    }
  });

  it('revoking one session through B (DELETE /auth/sessions/:id) closes its sockets on A and B, and only those', async () => {
    const email = uniqueEmail('sockets-one');
    await request(b.url).post('/auth/register').send({ email, password: PASSWORD });
    const doomed = await bearerSession(a, email);
    const kept = await bearerSession(b, email);
    const doomedOnA = await socketOn(a, doomed.accessToken);
    const doomedOnB = await socketOn(b, doomed.accessToken);
    const keptOnA = await socketOn(a, kept.accessToken);

    const started = Date.now();
    const del = await request(b.url).delete(`/auth/sessions/${doomedOnA.sessionId}`).set('Authorization', `Bearer ${kept.accessToken}`);
    expect(del.status).toBe(204);
    const [endA, endB] = await Promise.all([doomedOnA.ended, doomedOnB.ended]);
    console.log(`[${bus}] revoke on B: socket on A closed after ${endA.at - started} ms, socket on B after ${endB.at - started} ms`);
    for (const end of [endA, endB]) expect(end.at - started).toBeLessThanOrEqual(3 * BOUND_MS);
    await new Promise((r) => setTimeout(r, 300));
    expect(keptOnA.socket.connected).toBe(true);
    expect(await keptOnA.socket.timeout(2_000).emitWithAck('whoami')).toMatchObject({ sessionId: keptOnA.sessionId });
  });
});

/**
 * A demotion reaches every open socket of the session, on every instance, within one access-token
 * lifetime (3 s here), without the socket reconnecting: each instance re-reads the user for its
 * own sockets.
 */
describe('an admin demoted while connected to two app processes', () => {
  const adminEmail = uniqueEmail('socket-admin');
  let a: AppProcess;
  let b: AppProcess;
  const open: Socket[] = [];

  beforeAll(async () => {
    const env = { ACCESS_TOKEN_TTL: '3', ADMIN_EMAILS: adminEmail, REVOCATION_CACHE_TTL: '60' };
    [a, b] = await Promise.all([startAppProcess(env), startAppProcess(env)]);
  }, 90_000);
  afterAll(async () => {
    for (const s of open.splice(0)) s.close();
    await Promise.all([a, b].filter(Boolean).map((p) => p.stop()));
  });

  const connect = async (instance: AppProcess, token: string): Promise<Socket> => {
    const socket = io(`${instance.url}/events`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token } });
    open.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('session', () => resolve());
      socket.once('connect_error', (e) => reject(new Error(`connect_error ${JSON.stringify((e as { data?: unknown }).data)}`)));
    });
    return socket;
  };
  const roles = async (socket: Socket) => ((await socket.timeout(2_000).emitWithAck('whoami')) as { roles: string[] }).roles;

  it('whoami on the sockets on A and on B answers roles [] within the token lifetime; HTTP refuses the admin route after a refresh', async () => {
    expect((await request(a.url).post('/auth/register').send({ email: adminEmail, password: PASSWORD })).status).toBe(201);
    const login = await request(a.url).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email: adminEmail, password: PASSWORD });
    expect(login.status).toBe(200);
    const onA = await connect(a, login.body.accessToken);
    const onB = await connect(b, login.body.accessToken);
    expect([await roles(onA), await roles(onB)]).toEqual([['admin'], ['admin']]);

    const client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    try {
      await client.query(`UPDATE users SET roles = '{}' WHERE email = $1`, [adminEmail]);
    } finally {
      await client.end();
    }
    const demotedAt = Date.now();
    const refreshed = await request(b.url).post('/auth/refresh').send({ refreshToken: login.body.refreshToken });
    expect(refreshed.status).toBe(200);
    expect((await request(a.url).get('/admin/ping').set('Authorization', `Bearer ${refreshed.body.accessToken}`)).status).toBe(403);

    // Within one access-token lifetime (3 s) of the demotion, plus D15's margin for the check itself.
    await new Promise((r) => setTimeout(r, Math.max(0, demotedAt + 3_000 + 1_000 - Date.now())));
    expect([onA.connected, onB.connected]).toEqual([true, true]);
    expect([await roles(onA), await roles(onB)]).toEqual([[], []]);
  });
});
