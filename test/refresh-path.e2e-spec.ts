import request from 'supertest';
import { createRequire } from 'node:module';
import { startBareApp } from './support/bare-app';
import type { UserId } from 'nest-sessions';

/**
 * The common refresh (the current secret) is one statement: it reads the per-address limit
 * without locking its row (shared by every client behind the address, it must not stay locked
 * through the rotation's commit; only failures are charged to it, in a statement of their own)
 * and rotates the secret, spending the per-session limit in the same update of the session's
 * row: no second table is written. The app's loadUser runs after that write;
 * when it fails, the rotation is undone, so the secret the client still holds stays current.
 */
describe('the refresh path', () => {
  let app: Awaited<ReturnType<typeof startBareApp>>;
  let loadUserFails = false;

  beforeAll(async () => {
    app = await startBareApp({
      session: {
        loadUser: (id: UserId) => {
          if (loadUserFails) throw new Error('user store down');
          return { id, roles: ['reader'] };
        },
        refreshReuseGrace: 1,
        rateLimits: { refreshPerIp: { limit: 1000, window: '1m' }, refreshPerSession: { limit: 1000, window: '1m' } },
      },
    });
  });
  afterAll(() => app.close());
  beforeEach(() => (loadUserFails = false));

  const login = async () => {
    const res = await request(app.server).post('/login').set('X-Session-Transport', 'bearer').send({ id: `u-${Math.random()}` });
    expect(res.status).toBe(200);
    return res.body as { refreshToken: string; sessionId: string };
  };
  const refresh = (refreshToken: string) => request(app.server).post('/auth/refresh').send({ refreshToken });

  it('rotates the current secret in one round trip to the database: the address\'s limit read, the session\'s spent by the rotation; a secret it did not rotate then pays the session\'s limit before it is classified, and a failure the address\'s before it is answered', async () => {
    const { refreshToken } = await login();
    const pg = createRequire(require.resolve('typeorm'))('pg') as { Client: { prototype: { query: (...args: unknown[]) => unknown } } };
    const spy = jest.spyOn(pg.Client.prototype, 'query');
    try {
      const res = await refresh(refreshToken);
      expect(res.status).toBe(200);
      expect(res.body.refreshToken).toEqual(expect.any(String));
      const statements = spy.mock.calls.map((call) => String(typeof call[0] === 'string' ? call[0] : (call[0] as { text?: string })?.text));
      expect(statements).toHaveLength(1);
      expect(statements[0]).toMatch(/prior0 AS \(SELECT tat_us FROM auth_rate_limits[\s\S]*SELECT 1 WHERE NOT EXISTS \(SELECT 1 FROM prior0[\s\S]*UPDATE auth_sessions s\s+SET [\s\S]*refresh_tat_us = [\s\S]*WHERE s.id = \$1/);
      expect(statements[0]).not.toMatch(/INSERT INTO auth_rate_limits/);
      spy.mockClear();
      // The secret just rotated out, past the grace window: reuse, which is a failure.
      await new Promise((r) => setTimeout(r, 1_200));
      expect((await refresh(refreshToken)).status).toBe(401);
      const failed = spy.mock.calls.map((call) => String(typeof call[0] === 'string' ? call[0] : (call[0] as { text?: string })?.text));
      // Not the current secret: the session's own limit is paid right after the rotation's
      // statement, before the secret is classified; the address's charge comes last, before the answer.
      const [session, address] = [failed[1], failed.at(-1)!];
      expect(address).toMatch(/INSERT INTO auth_rate_limits[\s\S]*set_config\('synchronous_commit', 'off', true\)/);
      expect(address).not.toMatch(/auth_sessions/);
      expect(session).toMatch(/UPDATE auth_sessions s SET refresh_tat_us = [\s\S]*set_config\('synchronous_commit', 'off', true\)/);
      expect(session).not.toMatch(/auth_rate_limits/);
    } finally {
      spy.mockRestore();
    }
  });

  it('a loadUser failure after the rotation undoes it: the same token refreshes later, past the grace window, as the current one', async () => {
    const { refreshToken } = await login();
    loadUserFails = true;
    const failed = await refresh(refreshToken);
    loadUserFails = false;
    expect(failed.status).toBe(503);
    expect(failed.body.code).toBe('SERVICE_UNAVAILABLE');
    await new Promise((r) => setTimeout(r, 1_200)); // past the 1 s grace window: reuse would end the session
    const again = await refresh(refreshToken);
    expect(again.status).toBe(200);
    expect(again.body.refreshToken).toEqual(expect.any(String)); // a rotation, not a grace answer
    const next = await refresh(again.body.refreshToken);
    expect(next.status).toBe(200);
  });

  it('a secret that is not the current one still goes through the full classification (reuse ends the session)', async () => {
    const { refreshToken } = await login();
    const first = await refresh(refreshToken);
    expect(first.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_200));
    const reused = await refresh(refreshToken);
    expect(reused.status).toBe(401);
    expect(reused.body.code).toBe('SESSION_REVOKED');
    expect((await refresh(first.body.refreshToken)).body.code).toBe('SESSION_REVOKED');
  });
});
