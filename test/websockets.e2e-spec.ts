import request from 'supertest';
import type { AddressInfo } from 'node:net';
import { io, type Socket, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import { SessionService, SessionSockets, SessionStoreUnavailableError, type SessionEndedPayload } from 'nest-sessions';
import { SessionStore } from '../libs/session/src/store/session.store';
import { startApp, TEST_JWT_SECRET, type TestApp } from './support/app';
import { ACCESS, bearerLogin, PASSWORD, signedInBrowser } from './support/browser';
import { useFakeDate } from './support/clock';
import { forge } from './support/jwt-forge';
import { within } from './support/within';
import { report } from './support/report';

/** The revocation bound of D6, asserted with D15's 3× margin. */
const BOUND_MS = 1_000;

type ClientOptions = Partial<ManagerOptions & SocketOptions>;

const sessionIdOf = (refreshToken: string) => refreshToken.split('.')[0];

/**
 * Resolves when the server ends the socket's session: the `session.ended` payload, the disconnect
 * reason, and when (`at`: `performance.now()`, which the fake clock leaves alone; `wallAt`: `Date.now()`).
 */
function ending(socket: Socket): Promise<{ payload: SessionEndedPayload; reason: string; at: number; wallAt: number }> {
  return new Promise((resolve, reject) => {
    let payload: SessionEndedPayload | undefined;
    socket.once('session.ended', (p: SessionEndedPayload) => (payload = p));
    socket.once('disconnect', (reason) => {
      if (!payload) return reject(new Error(`disconnected (${reason}) without session.ended`));
      resolve({ payload, reason, at: performance.now(), wallAt: Date.now() });
    });
  });
}

/**
 * The sample app with `env` for the enclosing describe (started before its tests, closed after
 * them), and socket.io clients of its `/events` that never reconnect by themselves and close with it.
 */
function gatewayApp(env: Record<string, string>) {
  const open: Socket[] = [];
  const app = {
    t: undefined as unknown as TestApp,
    url: '',
    /** A client; `session` and `session.ended` can be recorded from the start. */
    client(options: ClientOptions): Socket {
      const socket = io(app.url, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 5_000, ...options });
      open.push(socket);
      return socket;
    },
    /** Connects and waits for the `session` event; `end` is the socket's `ending`, watched from the start. */
    async connect(options: ClientOptions): Promise<{ socket: Socket; sessionId: string; end: ReturnType<typeof ending> }> {
      const socket = app.client(options);
      const end = ending(socket);
      end.catch(() => undefined); // awaited by the tests that expect an end; others close the socket
      const sessionId = await new Promise<string>((resolve, reject) => {
        socket.once('session', (payload: { sessionId: string }) => resolve(payload.sessionId));
        socket.once('connect_error', (error) => reject(new Error(`connect_error ${JSON.stringify((error as { data?: unknown }).data)}`)));
      });
      return { socket, sessionId, end };
    },
    /** Expects the handshake to be refused; returns `err.data`. */
    refused(options: ClientOptions): Promise<{ statusCode: number; code: string; message: string }> {
      const socket = app.client(options);
      return new Promise((resolve, reject) => {
        socket.once('connect', () => reject(new Error('the handshake was accepted')));
        socket.once('connect_error', (error) => resolve((error as unknown as { data: { statusCode: number; code: string; message: string } }).data));
      });
    },
    closeSockets(): void {
      for (const socket of open.splice(0)) socket.close();
    },
  };
  beforeAll(async () => {
    app.t = await startApp(env);
    app.url = `http://127.0.0.1:${(app.t.server.address() as AddressInfo).port}/events`;
  });
  afterAll(async () => {
    app.closeSockets();
    await app.t?.close();
  });
  return app;
}

describe.each(['express', 'fastify'] as const)('socket.io gateway /events on %s', (adapter) => {
  // The periodic re-check (every revocation.cache.ttl) would also end a revoked session's sockets;
  // at 60 s it cannot within these tests' bounds, so what is tested is the revocation signal.
  const g = gatewayApp({ HTTP_ADAPTER: adapter, REVOCATION_CACHE_TTL: '60' });
  const { client, connect, refused } = g;
  afterEach(() => g.closeSockets());

  /** True when the socket is still connected after `ms` and answers `whoami`. */
  async function stillConnected(socket: Socket, ms = 300): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    if (!socket.connected) return false;
    const answer = await socket.timeout(2_000).emitWithAck('whoami').catch(() => null);
    return answer !== null;
  }

  it('bearer handshake (auth: { token }): the server emits `session` with the session id; whoami sees the user and session', async () => {
    const login = await bearerLogin(g.t);
    const { socket, sessionId } = await connect({ auth: { token: login.accessToken } });
    expect(sessionId).toBe(sessionIdOf(login.refreshToken));
    const me = await socket.timeout(2_000).emitWithAck('whoami');
    expect(me).toEqual({ id: login.userId, roles: [], sessionId });
  });

  it('cookie handshake (the browser sends its access cookie) works; from another site it is refused with CSRF_REJECTED', async () => {
    const { browser, userId } = await signedInBrowser(g.t);
    const cookie = `${ACCESS}=${browser.get(ACCESS)}`;
    const { socket, sessionId } = await connect({ extraHeaders: { cookie } });
    const me = await socket.timeout(2_000).emitWithAck('whoami');
    expect(me).toEqual({ id: userId, roles: [], sessionId });
    const own = new URL(g.url).origin;
    expect((await connect({ extraHeaders: { cookie, origin: own } })).sessionId).toBe(sessionId);
    expect((await refused({ extraHeaders: { cookie, origin: 'https://evil.example' } })).code).toBe('CSRF_REJECTED');
  });

  it('a handshake without a token, or with a bad one, is refused: connect_error with code UNAUTHENTICATED', async () => {
    const login = await bearerLogin(g.t);
    const another = await bearerLogin(g.t);
    const [, payload] = login.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const cases: ClientOptions[] = [
      {},
      { auth: { token: 'not-a-token' } },
      { auth: { token: 42 } },
      { auth: { token: forge({ alg: 'HS256', typ: 'at+jwt' }, claims, 'some other secret of at least thirty-two bytes') } },
      { extraHeaders: { cookie: `${ACCESS}=garbage` } },
      // Two valid tokens that disagree: `auth.token` and the cookie, or `Authorization` and the cookie.
      { auth: { token: login.accessToken }, extraHeaders: { cookie: `${ACCESS}=${another.accessToken}` } },
      { extraHeaders: { authorization: `Bearer ${login.accessToken}`, cookie: `${ACCESS}=${another.accessToken}` } },
      // A token signed with the right secret but another issuer.
      { auth: { token: forge({ alg: 'HS256', typ: 'at+jwt' }, { ...claims, iss: 'someone-else' }, TEST_JWT_SECRET) } },
    ];
    for (const options of cases) {
      const data = await refused(options);
      expect(data).toEqual({ statusCode: 401, code: 'UNAUTHENTICATED', message: expect.any(String) });
      expect(JSON.stringify(data)).not.toContain(login.accessToken);
    }
  });

  it('an expired access token is refused with ACCESS_TOKEN_EXPIRED; a revoked session with SESSION_REVOKED', async () => {
    const login = await bearerLogin(g.t);
    const clock = useFakeDate();
    try {
      clock.advance(11 * 60_000);
      expect((await refused({ auth: { token: login.accessToken } })).code).toBe('ACCESS_TOKEN_EXPIRED');
    } finally {
      clock.restore();
    }
    const other = await bearerLogin(g.t);
    expect((await request(g.t.server).post('/auth/logout').send({ refreshToken: other.refreshToken })).status).toBe(204);
    expect((await refused({ auth: { token: other.accessToken } })).code).toBe('SESSION_REVOKED');
  });

  it('logout through HTTP: every socket of the session receives session.ended and is disconnected within the bound', async () => {
    const { browser } = await signedInBrowser(g.t);
    const cookie = `${ACCESS}=${browser.get(ACCESS)}`;
    const first = await connect({ extraHeaders: { cookie } });
    const second = await connect({ extraHeaders: { cookie } });
    const ends = [ending(first.socket), ending(second.socket)];
    const started = performance.now();
    expect((await browser.post('/auth/logout')).status).toBe(204);
    for (const end of await Promise.all(ends)) {
      expect(end.payload).toEqual({ sessionId: first.sessionId, reason: 'revoked' });
      expect(end.reason).toBe('io server disconnect'); // the server's decision: the client does not reconnect
      const delay = end.at - started;
      report(`[${adapter}] logout reached the socket after ${Math.round(delay)} ms`);
      expect(delay).toBeLessThanOrEqual(3 * BOUND_MS);
    }
  });

  it('DELETE /auth/sessions/:id closes only that session\'s sockets; logout-all closes the rest', async () => {
    const a = await bearerLogin(g.t);
    const b = await request(g.t.server).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email: a.email, password: PASSWORD });
    const onA = [await connect({ auth: { token: a.accessToken } }), await connect({ auth: { token: a.accessToken } })];
    const onB = await connect({ auth: { token: b.body.accessToken } });
    const ends = onA.map((s) => ending(s.socket));
    const started = performance.now();
    const del = await request(g.t.server).delete(`/auth/sessions/${sessionIdOf(a.refreshToken)}`).set('Authorization', `Bearer ${b.body.accessToken}`);
    expect(del.status).toBe(204);
    for (const end of await Promise.all(ends)) {
      expect(end.payload.reason).toBe('revoked');
      expect(end.at - started).toBeLessThanOrEqual(3 * BOUND_MS);
    }
    expect(await stillConnected(onB.socket)).toBe(true);

    const endB = ending(onB.socket);
    expect((await request(g.t.server).post('/auth/logout-all').set('Authorization', `Bearer ${b.body.accessToken}`)).status).toBe(204);
    expect((await endB).payload).toEqual({ sessionId: onB.sessionId, reason: 'revoked' });
  });

  it('revocations that are not a logout (revokeAllForUser: a user disabled; not-before; reuse detection) end the sockets too', async () => {
    const login = await bearerLogin(g.t);
    const { socket } = await connect({ auth: { token: login.accessToken } });
    const end = ending(socket);
    let started = performance.now();
    await g.t.app.get(SessionService).revokeAllForUser(login.userId, 'user_disabled');
    expect((await end).payload).toEqual({ sessionId: sessionIdOf(login.refreshToken), reason: 'revoked' });
    expect((await end).at - started).toBeLessThanOrEqual(3 * BOUND_MS);

    // Not-before: every session issued before a moment (a password change, say).
    const older = await bearerLogin(g.t);
    const olderSocket = await connect({ auth: { token: older.accessToken } });
    const olderEnd = ending(olderSocket.socket);
    started = performance.now();
    expect(await g.t.app.get(SessionService).revokeIssuedBefore(older.userId, new Date(Date.now() + 1_000))).toEqual([sessionIdOf(older.refreshToken)]);
    expect((await olderEnd).payload).toEqual({ sessionId: sessionIdOf(older.refreshToken), reason: 'revoked' });
    expect((await olderEnd).at - started).toBeLessThanOrEqual(3 * BOUND_MS);

    const reused = await bearerLogin(g.t);
    const second = await connect({ auth: { token: reused.accessToken } });
    const secondEnd = ending(second.socket);
    expect((await request(g.t.server).post('/auth/refresh').send({ refreshToken: reused.refreshToken })).status).toBe(200);
    const clock = useFakeDate();
    started = performance.now();
    try {
      clock.advance(11_000); // past the grace window: the old refresh token is reuse
      expect((await request(g.t.server).post('/auth/refresh').send({ refreshToken: reused.refreshToken })).status).toBe(401);
    } finally {
      clock.restore();
    }
    expect((await secondEnd).payload).toEqual({ sessionId: sessionIdOf(reused.refreshToken), reason: 'revoked' });
    expect((await secondEnd).at - started).toBeLessThanOrEqual(3 * BOUND_MS);
  });
});

describe('an open socket\'s roles follow the user within one access-token lifetime', () => {
  const adminEmail = `socket-admin-${Date.now()}@example.com`;
  const g = gatewayApp({ ACCESS_TOKEN_TTL: '2', ADMIN_EMAILS: adminEmail, REVOCATION_CACHE_TTL: '60' });
  afterEach(() => g.closeSockets());
  const whoami = (socket: Socket) => socket.timeout(2_000).emitWithAck('whoami') as Promise<{ roles: string[] }>;
  const afterTokenLifetime = (since: number) => new Promise((r) => setTimeout(r, Math.max(0, since + 2_000 + 700 - Date.now())));

  it('an admin demoted while connected: whoami answers roles [] after the token\'s lifetime, on a socket that never reconnected', async () => {
    const login = await bearerLogin(g.t, adminEmail);
    const connectedAt = Date.now();
    const { socket } = await g.connect({ auth: { token: login.accessToken } });
    expect((await whoami(socket)).roles).toEqual(['admin']);
    await g.t.dataSource.query(`UPDATE users SET roles = '{}' WHERE id = $1`, [login.userId]);
    await afterTokenLifetime(connectedAt);
    expect(socket.connected).toBe(true);
    expect((await whoami(socket)).roles).toEqual([]);
    // And a promotion, the same way.
    await g.t.dataSource.query(`UPDATE users SET roles = '{admin}' WHERE id = $1`, [login.userId]);
    await afterTokenLifetime(Date.now() - 700);
    expect((await whoami(socket)).roles).toEqual(['admin']);
  });

  it('a user loadUser no longer knows (disabled behind the library\'s back): the session is revoked and the socket receives session.ended', async () => {
    const login = await bearerLogin(g.t);
    const { socket, end } = await g.connect({ auth: { token: login.accessToken } });
    await g.t.dataSource.query(`UPDATE users SET disabled_at = now() WHERE id = $1`, [login.userId]);
    expect((await end).payload.reason).toBe('revoked');
    expect(socket.connected).toBe(false);
    const [row] = await g.t.dataSource.query(`SELECT revoke_reason FROM auth_sessions WHERE id = $1`, [sessionIdOf(login.refreshToken)]);
    expect(row.revoke_reason).toBe('user_disabled');
  });
});

describe('a socket that joins a session later is read again no later than its own token\'s expiry', () => {
  const adminEmail = `socket-joiner-${Date.now()}@example.com`;
  const g = gatewayApp({ ACCESS_TOKEN_TTL: '4', ADMIN_EMAILS: adminEmail, REVOCATION_CACHE_TTL: '60' });
  afterEach(() => g.closeSockets());
  const roles = async (socket: Socket) => ((await socket.timeout(2_000).emitWithAck('whoami')) as { roles: string[] }).roles;
  const until = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

  it('a second socket with a newer token of a demoted admin loses the role at that token\'s expiry, not at the session\'s next read', async () => {
    const login = await bearerLogin(g.t, adminEmail);
    const t0 = Date.now();
    const first = await g.connect({ auth: { token: login.accessToken } });
    // A refresh halfway through the first token's life: the second token outlives it by 2 s.
    await until(t0 + 2_000);
    const refreshed = await request(g.t.server).post('/auth/refresh').send({ refreshToken: login.refreshToken });
    expect(refreshed.status).toBe(200);
    const secondTokenExpiresAt = Date.parse(refreshed.body.accessTokenExpiresAt);
    await g.t.dataSource.query(`UPDATE users SET roles = '{}' WHERE id = $1`, [login.userId]);
    // The session's read at the first token's expiry demotes the first socket, and the next is a lifetime away.
    await until(t0 + 4_000 + 300);
    expect(await roles(first.socket)).toEqual([]);
    const second = await g.connect({ auth: { token: refreshed.body.accessToken } });
    expect(await roles(second.socket)).toEqual(['admin']); // its token's roles, while that token lives
    // Read at the second token's expiry (t0 + 6 s), before the session's next read (t0 + 8 s).
    await until(secondTokenExpiresAt + 1_000);
    expect(Date.now()).toBeLessThan(t0 + 8_000);
    expect(await roles(second.socket)).toEqual([]);
  });
});

describe('sockets whose roles cannot be read for an access-token lifetime and revocation.cache.maxAge are dropped', () => {
  const g = gatewayApp({ ACCESS_TOKEN_TTL: '2', REVOCATION_CACHE_TTL: '1', REVOCATION_CACHE_MAX_AGE: '2' });
  afterEach(() => g.closeSockets());

  it('loadUser failing: the socket stays through a blip and is disconnected without session.ended once 2 s + 2 s have passed unconfirmed', async () => {
    const login = await bearerLogin(g.t);
    const { socket } = await g.connect({ auth: { token: login.accessToken } });
    const endedEvents: unknown[] = [];
    socket.on('session.ended', (payload) => endedEvents.push(payload));
    const dropped = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
    const connectedAt = Date.now();
    const reads = jest.spyOn(g.t.app.get(SessionService), 'currentUser').mockRejectedValue(new SessionStoreUnavailableError('injected'));
    try {
      // Past the token's lifetime the read fails, and the socket stays (a blip is not an outage).
      await new Promise((r) => setTimeout(r, Math.max(0, connectedAt + 2_800 - Date.now())));
      expect(socket.connected).toBe(true);
      const reason = await Promise.race([dropped, new Promise<string>((r) => setTimeout(() => r('still connected after 7 s'), 4_200))]);
      expect(reason).toBe('io server disconnect');
      expect(endedEvents).toEqual([]);
      expect(reads).toHaveBeenCalled();
    } finally {
      reads.mockRestore();
    }
  });
});

describe('a socket outlives its access token only while its session is live', () => {
  // The periodic re-check at 60 s: what ends the socket here is the timer at the session's end.
  const g = gatewayApp({ ACCESS_TOKEN_TTL: '2', SESSION_IDLE_TIMEOUT: '4', REVOCATION_CACHE_TTL: '60' });

  it('past the token\'s exp the socket stays; at the idle expiry it receives session.ended and is disconnected', async () => {
    const login = await bearerLogin(g.t);
    const connectedAt = Date.now();
    const { socket, end } = await g.connect({ auth: { token: login.accessToken } });
    const ended = end.then((end) => end.wallAt);
    const [row] = await g.t.dataSource.query(`SELECT expires_at FROM auth_sessions WHERE id = $1`, [sessionIdOf(login.refreshToken)]);
    const idleEnd = new Date(row.expires_at).getTime();
    // The access token (2 s) has expired; the session (idle 4 s) has not: the socket stays.
    await new Promise((r) => setTimeout(r, Math.max(0, connectedAt + 2_600 - Date.now())));
    expect(socket.connected).toBe(true);
    const at = await ended;
    expect((await end).payload.reason).toBe('expired');
    report(`idle expiry reached the socket ${at - idleEnd} ms after the session's end`);
    expect(at).toBeGreaterThanOrEqual(idleEnd - 50);
    expect(at - idleEnd).toBeLessThanOrEqual(3 * BOUND_MS);
  });
  it('an end that arrives as a revocation after the session\'s known end (a refresh that came too late) is reported as expired', async () => {
    const login = await bearerLogin(g.t);
    const loggedInAt = Date.now();
    const { socket, end } = await g.connect({ auth: { token: login.accessToken } });
    // At the token's exp (2 s) the socket read the session's end (4 s). Then its reads fail (a
    // store blip), so the timer does not end it at 4 s: the late refresh's revocation does.
    await new Promise((r) => setTimeout(r, Math.max(0, loggedInAt + 2_600 - Date.now())));
    const reads = jest.spyOn(g.t.app.get(SessionService), 'sessionEnd').mockRejectedValue(new SessionStoreUnavailableError('injected'));
    try {
      await new Promise((r) => setTimeout(r, Math.max(0, loggedInAt + 4_500 - Date.now())));
      expect(socket.connected).toBe(true);
      const late = await request(g.t.server).post('/auth/refresh').send({ refreshToken: login.refreshToken });
      expect({ status: late.status, code: late.body.code }).toEqual({ status: 401, code: 'REAUTHENTICATION_REQUIRED' });
      expect((await end).payload).toEqual({ sessionId: sessionIdOf(login.refreshToken), reason: 'expired' });
      expect(reads).toHaveBeenCalled();
    } finally {
      reads.mockRestore();
    }
  });
});

describe.each<[string, Record<string, string>]>([
  // No bus: nothing tells this instance, so the cache TTL is the bound (with a bus, every
  // revocation path broadcasts and a heard listener's entries answer for revocation.cache.maxAge).
  ['strict mode, a revocation whose signal was lost', { REVOCATION_CACHE_TTL: '1', REVOCATION_BUS: 'none' }],
  ['stateless mode, a logout on this instance', { SESSION_REVOCATION: 'stateless' }],
])('sockets end with their session: %s', (name, env) => {
  const g = gatewayApp(env);

  it('the socket receives session.ended and is disconnected', async () => {
    const login = await bearerLogin(g.t);
    const { socket, end } = await g.connect({ auth: { token: login.accessToken } });
    const ended = end.then((e) => e.at);
    const started = performance.now();
    let limit: number;
    if (env.SESSION_REVOCATION === 'stateless') {
      // Stateless: a revocation made on this instance still ends its sockets at once.
      expect((await request(g.t.server).post('/auth/logout').send({ refreshToken: login.refreshToken })).status).toBe(204);
      limit = 3 * BOUND_MS;
    } else {
      // Ended behind the library's back (as if the broadcast were lost): the periodic check through
      // the revocation cache finds it within the cache TTL plus one check interval (1 s + 1 s).
      await g.t.dataSource.query(`UPDATE auth_sessions SET revoked_at = now(), revoke_reason = 'revoked' WHERE id = $1`, [sessionIdOf(login.refreshToken)]);
      limit = 3 * 2_000;
    }
    const delay = (await ended) - started;
    expect((await end).payload.reason).toBe('revoked');
    report(`${name}: the socket ended after ${Math.round(delay)} ms`);
    expect(delay).toBeLessThanOrEqual(limit);
  });
});

describe('a store outage: a socket stays through a blip, and is dropped once unchecked for revocation.cache.maxAge', () => {
  const MAX_AGE_MS = 3_000;
  // Checked every second (the TTL, no bus); unchecked for 3 s (maxAge), a socket is dropped.
  const g = gatewayApp({ REVOCATION_BUS: 'none', REVOCATION_CACHE_TTL: '1', REVOCATION_CACHE_MAX_AGE: String(MAX_AGE_MS / 1000) });
  afterEach(async () => {
    jest.restoreAllMocks();
    // Each test's sockets go with it: a socket left bound would be dropped with the next test's.
    g.closeSockets();
    await within(2_000, async () => g.t.app.get(SessionSockets).count() === 0);
  });

  /** Fault injection: the store's liveness read fails as it does when the database is unreachable. */
  const storeDown = () =>
    jest.spyOn(g.t.app.get(SessionStore), 'findLive').mockRejectedValue(new SessionStoreUnavailableError('injected outage'));

  const connected = async (token: string): Promise<Socket> => (await g.connect({ auth: { token } })).socket;

  it('a session marked ended for its idle timeout behind this instance\'s back (the cleanup elsewhere) ends with reason expired', async () => {
    const login = await bearerLogin(g.t);
    const socket = await connected(login.accessToken);
    const end = ending(socket);
    await g.t.dataSource.query(`UPDATE auth_sessions SET revoked_at = now(), revoke_reason = 'idle_timeout' WHERE id = $1`, [sessionIdOf(login.refreshToken)]);
    expect((await end).payload).toEqual({ sessionId: sessionIdOf(login.refreshToken), reason: 'expired' });
    const revoked = await bearerLogin(g.t);
    const other = await connected(revoked.accessToken);
    const otherEnd = ending(other);
    await g.t.dataSource.query(`UPDATE auth_sessions SET revoked_at = now(), revoke_reason = 'revoked' WHERE id = $1`, [sessionIdOf(revoked.refreshToken)]);
    expect((await otherEnd).payload).toEqual({ sessionId: sessionIdOf(revoked.refreshToken), reason: 'revoked' });
  });

  it('a blip shorter than maxAge: the socket stays and answers', async () => {
    const socket = await connected((await bearerLogin(g.t)).accessToken);
    const fault = storeDown();
    await new Promise((r) => setTimeout(r, 1_600));
    expect(fault.mock.calls.length).toBeGreaterThan(0); // the sweep did ask, and failed
    fault.mockRestore();
    await new Promise((r) => setTimeout(r, 1_600));
    expect(socket.connected).toBe(true);
    expect(await socket.timeout(2_000).emitWithAck('whoami')).toEqual(expect.objectContaining({ sessionId: expect.any(String) }));
  });

  it('an outage: disconnected without session.ended after maxAge unchecked; the handshake answers SERVICE_UNAVAILABLE until the store is back', async () => {
    const login = await bearerLogin(g.t);
    const socket = await connected(login.accessToken);
    let endedEvent = false;
    socket.on('session.ended', () => (endedEvent = true));
    const started = performance.now();
    storeDown();
    const reason = await new Promise<string>((resolve) => socket.once('disconnect', resolve));
    const after = performance.now() - started;
    report(`an unchecked socket was dropped ${Math.round(after)} ms into the outage (maxAge ${MAX_AGE_MS} ms)`);
    expect(reason).toBe('io server disconnect');
    expect(endedEvent).toBe(false);
    // Dropped maxAge after the session was last known live, which was at most one check interval
    // (the 1 s TTL) before the outage; checks run every second.
    expect(after).toBeGreaterThanOrEqual(MAX_AGE_MS - 1_000 - 100);
    expect(after).toBeLessThanOrEqual(MAX_AGE_MS + 3_000);
    // Logged once the sweep that dropped it has gone through every session.
    await within(1_000, async () => g.t.logger.lines.some((l) => /^warn .*disconnected 1 socket\(s\) whose session could not be checked/.test(l)));
    expect(g.t.app.get(SessionSockets).count()).toBe(0);

    expect((await g.refused({ auth: { token: login.accessToken } })).code).toBe('SERVICE_UNAVAILABLE');
    jest.restoreAllMocks();
    await connected(login.accessToken);
    expect(g.t.logger.lines.join('\n')).not.toContain(login.accessToken);
  });
});

describe('sockets end at the absolute timeout', () => {
  // Wide enough for a slow login (argon2 on a busy host): a refresh between 3 s and 6 s after the
  // login moves the idle end (+6 s) past the absolute one (9 s).
  const g = gatewayApp({ ACCESS_TOKEN_TTL: '2', SESSION_IDLE_TIMEOUT: '6', SESSION_ABSOLUTE_TIMEOUT: '9', REVOCATION_CACHE_TTL: '60' });

  it('refreshed past the idle end, the session still ends at its absolute end: session.ended with reason expired', async () => {
    const login = await bearerLogin(g.t);
    const loggedInAt = Date.now();
    const { socket, end } = await g.connect({ auth: { token: login.accessToken } });
    await new Promise((r) => setTimeout(r, Math.max(0, loggedInAt + 4_000 - Date.now())));
    expect((await request(g.t.server).post('/auth/refresh').send({ refreshToken: login.refreshToken })).status).toBe(200);
    const [row] = await g.t.dataSource.query(`SELECT expires_at, absolute_expires_at FROM auth_sessions WHERE id = $1`, [sessionIdOf(login.refreshToken)]);
    const absoluteEnd = new Date(row.absolute_expires_at).getTime();
    expect(new Date(row.expires_at).getTime()).toBe(absoluteEnd); // the idle end is capped by the absolute one
    const ended = await end;
    expect(ended.payload.reason).toBe('expired');
    report(`absolute expiry reached the socket ${ended.wallAt - absoluteEnd} ms after the session's end`);
    expect(ended.wallAt).toBeGreaterThanOrEqual(absoluteEnd - 50);
    expect(ended.wallAt - absoluteEnd).toBeLessThanOrEqual(3 * BOUND_MS);
  });
});

describe('sockets end when a session limit evicts their session', () => {
  const g = gatewayApp({ SESSION_LIMIT: '1', REVOCATION_CACHE_TTL: '60' });

  it('a login past SESSION_LIMIT evicts the oldest session: its socket receives session.ended (revoked)', async () => {
    const first = await bearerLogin(g.t);
    const { socket, end } = await g.connect({ auth: { token: first.accessToken } });
    const second = await request(g.t.server).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email: first.email, password: PASSWORD });
    expect(second.status).toBe(200);
    const loggedInAt = performance.now();
    const ended = await end;
    expect(ended.payload).toEqual({ sessionId: sessionIdOf(first.refreshToken), reason: 'revoked' });
    expect(ended.at - loggedInAt).toBeLessThanOrEqual(3 * BOUND_MS);
  });
});
