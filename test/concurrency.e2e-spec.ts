import request from 'supertest';
import { startApp, type TestApp } from './support/app';
import { bearerLogin, REFRESH, setCookies, signedInBrowser } from './support/browser';

/** docs/security.md cases 21 and 29: parallel refreshes of one token, and a fault during rotation. */
describe('concurrent refreshes and faults during rotation', () => {
  describe('with the grace window (default 10 s)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp();
    });
    afterAll(() => t.close());

    it('twenty parallel refreshes: no 5xx, one rotation, one lineage, exactly one active secret after', async () => {
      const { browser } = await signedInBrowser(t);
      const rt1 = browser.get(REFRESH)!;
      const sid = rt1.split('.')[0];
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          request(t.server).post('/auth/refresh').set('Cookie', `${REFRESH}=${rt1}`).set('x-csrf-token', browser.csrfToken!),
        ),
      );
      expect(results.filter((r) => r.status >= 500)).toEqual([]);
      expect(results.every((r) => r.status === 200)).toBe(true);
      const rotations = results.flatMap((r) => setCookies(r).filter((c) => c.name === REFRESH && c.value));
      expect(rotations).toHaveLength(1);
      const [row] = await t.dataSource.query(`SELECT generation, revoked_at FROM auth_sessions WHERE id = $1`, [sid]);
      expect(row).toEqual({ generation: 1, revoked_at: null });
      const rt2 = rotations[0].value;
      const next = await request(t.server).post('/auth/refresh').set('Cookie', `${REFRESH}=${rt2}`).set('x-csrf-token', browser.csrfToken!);
      expect(next.status).toBe(200);
    });

    it('case 29: a fault in the rotating write leaves the old secret valid and no new one', async () => {
      const { refreshToken } = await bearerLogin(t);
      const sid = refreshToken.split('.')[0];
      await t.dataSource.query(`
        CREATE OR REPLACE FUNCTION ns_test_fail_rotation() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.id = '${sid}' AND NEW.generation > OLD.generation THEN
            RAISE EXCEPTION 'injected fault';
          END IF;
          RETURN NEW;
        END $$`);
      await t.dataSource.query(`CREATE TRIGGER ns_test_fail_rotation BEFORE UPDATE ON auth_sessions FOR EACH ROW EXECUTE FUNCTION ns_test_fail_rotation()`);
      let failed: request.Response;
      try {
        failed = await request(t.server).post('/auth/refresh').send({ refreshToken });
      } finally {
        await t.dataSource.query(`DROP TRIGGER ns_test_fail_rotation ON auth_sessions`);
        await t.dataSource.query(`DROP FUNCTION ns_test_fail_rotation()`);
      }
      expect(failed.status).toBe(503);
      expect(failed.body).toEqual({ statusCode: 503, code: 'SERVICE_UNAVAILABLE', message: expect.any(String) });
      expect(failed.body.refreshToken).toBeUndefined();
      expect(JSON.stringify(failed.body)).not.toMatch(/injected|UPDATE|auth_sessions/);
      const [row] = await t.dataSource.query(`SELECT generation FROM auth_sessions WHERE id = $1`, [sid]);
      expect(row.generation).toBe(0);
      const retry = await request(t.server).post('/auth/refresh').send({ refreshToken });
      expect(retry.status).toBe(200);
      expect(retry.body.refreshToken).toEqual(expect.any(String));
    });
  });

  describe('without a grace window', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp({ REFRESH_REUSE_GRACE: '0' });
    });
    afterAll(() => t.close());

    it('twenty parallel refreshes: exactly one succeeds, no 5xx, and the rest is reuse: the session ends', async () => {
      const { refreshToken } = await bearerLogin(t);
      const sid = refreshToken.split('.')[0];
      const results = await Promise.all(
        Array.from({ length: 20 }, () => request(t.server).post('/auth/refresh').send({ refreshToken })),
      );
      expect(results.filter((r) => r.status >= 500)).toEqual([]);
      const winners = results.filter((r) => r.status === 200);
      expect(winners.length).toBe(1);
      expect(results.filter((r) => r.status !== 200).every((r) => r.status === 401)).toBe(true);
      // Without a grace window the 19 others presented the just-rotated secret: reuse, so the
      // session is revoked once, and the winner's new token no longer works either.
      const [row] = await t.dataSource.query(`SELECT generation, revoke_reason FROM auth_sessions WHERE id = $1`, [sid]);
      expect(row).toEqual({ generation: 1, revoke_reason: 'reuse_detected' });
      const next = await request(t.server).post('/auth/refresh').send({ refreshToken: winners[0].body.refreshToken });
      expect([next.status, next.body.code]).toEqual([401, 'SESSION_REVOKED']);
    });

    it('the previous token presented right after rotation is reuse', async () => {
      const { refreshToken } = await bearerLogin(t);
      const first = await request(t.server).post('/auth/refresh').send({ refreshToken });
      expect(first.status).toBe(200);
      const replay = await request(t.server).post('/auth/refresh').send({ refreshToken });
      expect(replay.status).toBe(401);
      expect(replay.body.code).toBe('SESSION_REVOKED');
      expect((await request(t.server).post('/auth/refresh').send({ refreshToken: first.body.refreshToken })).status).toBe(401);
    });
  });
});

/** The previous refresh token inside the grace window mints a few access tokens, not any number. */
describe('grace-window refreshes are capped per generation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({});
  });
  afterAll(() => t.close());

  it('after graceRefreshLimit (20) grace hits the previous token gets 429 with Retry-After; the current one still rotates', async () => {
    const { refreshToken } = await bearerLogin(t);
    const rotated = await request(t.server).post('/auth/refresh').send({ refreshToken });
    expect(rotated.status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) statuses.push((await request(t.server).post('/auth/refresh').send({ refreshToken })).status);
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(200));
    const refused = await request(t.server).post('/auth/refresh').send({ refreshToken });
    expect([refused.status, refused.body.code]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(statuses.slice(20)).toEqual([429, 429]);
    // Not a revocation: the current token rotates, and the next generation's grace count starts at 0.
    const next = await request(t.server).post('/auth/refresh').send({ refreshToken: rotated.body.refreshToken });
    expect(next.status).toBe(200);
    expect((await request(t.server).post('/auth/refresh').send({ refreshToken: rotated.body.refreshToken })).status).toBe(200);
  });
});
