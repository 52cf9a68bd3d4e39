import request from 'supertest';
import { startAppProcess, type AppProcess } from '../support/processes';
import { PASSWORD, uniqueEmail } from '../support/browser';
import { startPgBouncer, type PgBouncer } from '../support/pgbouncer';
import { within } from '../support/within';

/**
 * PgBouncer in transaction pooling mode in front of B, with the Postgres bus (the default): the
 * app works, but LISTEN does not (a NOTIFY goes to whichever server connection is listening, not
 * to B's client). B must say so (an ERROR naming PgBouncer and the Redis bus, after two heartbeat
 * periods without one), report its listener down, and stay correct: with the listener never
 * proven alive, its cache answers nothing and every strict check reads the database, so a
 * revocation through A (connected directly) is refused on B at once.
 */
const HEARTBEAT_S = 1;
const HEARTBEAT_BOUND_MS = 2 * HEARTBEAT_S * 1000;
const BROADCAST_BOUND_MS = 1_000;
const PGBOUNCER_ERROR = /ERROR.*never heard its own heartbeat.*PgBouncer.*revocation.bus: \{ redis \}/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PgBouncer (transaction pooling) in front of an instance on the Postgres bus', () => {
  let bouncer: PgBouncer;
  let a: AppProcess;
  let b: AppProcess;
  let readyAt: number;
  const log = () => b.output.join('');

  beforeAll(async () => {
    bouncer = await startPgBouncer(process.env.DATABASE_URL!);
    const settings = { REVOCATION_BUS: 'postgres', REVOCATION_HEARTBEAT: String(HEARTBEAT_S) };
    a = await startAppProcess(settings); // directly; its migrations run first
    b = await startAppProcess({ ...settings, DATABASE_URL: bouncer.url(process.env.DATABASE_URL!) });
    readyAt = Date.now();
  }, 90_000);
  afterAll(async () => {
    await Promise.all([a, b].filter(Boolean).map((p) => p.stop()));
    await bouncer?.stop();
  });

  const whoami = (on: AppProcess, token: string) => request(on.url).get('/whoami').set('Authorization', `Bearer ${token}`);
  const login = async (on: AppProcess, email: string) => {
    const res = await request(on.url).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
    expect(res.status).toBe(200);
    return res.body as { accessToken: string; refreshToken: string };
  };

  it('B logs the ERROR naming PgBouncer within a few heartbeat periods, and its /health stays down', async () => {
    // The first heartbeat tick more than two periods after the listener connected: at most three periods.
    const bound = HEARTBEAT_BOUND_MS + HEARTBEAT_S * 1000;
    await within(3 * bound, async () => PGBOUNCER_ERROR.test(log()));
    console.log(`[pgbouncer] B logged the PgBouncer error ${Date.now() - readyAt} ms after it was listening (expected about ${bound} ms: the first heartbeat tick more than two periods after the listener connected)`);
    expect(Date.now() - readyAt).toBeLessThanOrEqual(3 * bound);
    // Down the whole time, reconnections included: no heartbeat ever comes back through PgBouncer.
    for (let i = 0; i < 10; i++) {
      const res = await request(b.url).get('/health');
      expect(res.status).toBe(503);
      expect(res.body.message).toBe('Unavailable: the revocation listener is disconnected.');
      await sleep(HEARTBEAT_S * 300);
    }
    // Said once, not at every reconnection.
    expect(log().match(/never heard its own heartbeat/g)).toHaveLength(1);
  });

  it('strict mode stays correct through PgBouncer: a revocation through A is refused on B at once', async () => {
    const email = uniqueEmail('pgbouncer');
    expect((await request(b.url).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201); // B writes through PgBouncer
    const session = await login(a, email);
    for (let i = 0; i < 3; i++) expect((await whoami(b, session.accessToken)).status).toBe(200);
    expect((await request(a.url).post('/auth/logout').send({ refreshToken: session.refreshToken })).status).toBe(204);
    // No polling: B's cache answers nothing while its listener is not proven alive.
    const res = await whoami(b, session.accessToken);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('SESSION_REVOKED');
  });

  it('B\'s own revocations still reach A: NOTIFY through PgBouncer is delivered to direct listeners', async () => {
    const email = uniqueEmail('pgbouncer-b');
    expect((await request(a.url).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201);
    const session = await login(b, email);
    for (let i = 0; i < 3; i++) expect((await whoami(a, session.accessToken)).status).toBe(200);
    expect((await request(b.url).post('/auth/logout').send({ refreshToken: session.refreshToken })).status).toBe(204);
    const delay = await within(3 * BROADCAST_BOUND_MS, async () => (await whoami(a, session.accessToken)).status === 401);
    console.log(`[pgbouncer] revocation on B (through PgBouncer) refused on A after ${delay} ms (bound ${BROADCAST_BOUND_MS} ms)`);
  });
});
