import request from 'supertest';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { DataSource } from 'typeorm';
import { SessionCleanupService, type SessionModuleOptions } from 'nest-sessions';
import { secrets, startBareApp } from './support/bare-app';
import { startApp } from './support/app';
import { PASSWORD, uniqueEmail } from './support/browser';
import { useFakeDate } from './support/clock';
import { ACCOUNT_CEILING_FACTOR, addressKey } from '../apps/sample/src/http/auth-rate-limits';

type BareApp = Awaited<ReturnType<typeof startBareApp>>;

/** A bearer session of the bare app's user `id`; returns its refresh token. */
async function bearerSession(app: BareApp, id: string): Promise<string> {
  const res = await request(app.server).post('/login').set('X-Session-Transport', 'bearer').send({ id });
  expect(res.status).toBe(200);
  return res.body.refreshToken as string;
}

const refresh = (app: BareApp, token: string, from = '198.51.100.1') =>
  request(app.server).post('/auth/refresh').set('X-Forwarded-For', from).send({ refreshToken: token });

const guess = (sessionId: string) => `${sessionId}.${randomBytes(32).toString('base64url')}`;

/** A bare app behind a trusted proxy (the client address comes from X-Forwarded-For). */
const behindProxy = (rateLimits: SessionModuleOptions['rateLimits'], more: Partial<SessionModuleOptions> = {}) =>
  startBareApp({ trustProxy: true, session: { rateLimits, ...more } });

/** docs/security.md case 47 on refresh: limits per client address and per session id, shared by every instance. */
describe('refresh rate limits', () => {
  it('case 47: per address, failing attempts count; beyond the limit 429 RATE_LIMITED with Retry-After, a good token too; another address is unaffected', async () => {
    const app = await behindProxy({ refreshPerIp: { limit: 5, window: '1m' }, refreshPerSession: false });
    // A still clock, so that Retry-After is exact however slow the machine is.
    const clock = useFakeDate();
    try {
      const token = await bearerSession(app, 'alice');
      for (let i = 0; i < 5; i++) expect((await refresh(app, 'not-a-token', '203.0.113.7')).status).toBe(401);
      const limited = await refresh(app, 'not-a-token', '203.0.113.7');
      expect([limited.status, limited.body.code, limited.headers['retry-after']]).toEqual([429, 'RATE_LIMITED', '12']);
      expect((await refresh(app, token, '203.0.113.7')).status).toBe(429);
      expect((await refresh(app, token, '203.0.113.8')).status).toBe(200);
    } finally {
      clock.restore();
      await app.close();
    }
  });

  it.each([['postgres' as const], ['memory' as const]])(
    "case 47: per address only failures count (store '%s'): good refreshes from one address do not use its attempts, failures do, and once they are spent a good token is refused too",
    async (store) => {
      const app = await behindProxy({ refreshPerIp: { limit: 3, window: '1m' }, refreshPerSession: false, store });
      const clock = useFakeDate();
      try {
        const from = '203.0.113.50';
        let token = await bearerSession(app, 'erin');
        const other = await bearerSession(app, 'frank');
        for (let i = 0; i < 5; i++) {
          const res = await refresh(app, token, from);
          expect(res.status).toBe(200);
          token = res.body.refreshToken as string;
        }
        for (let i = 0; i < 3; i++) expect((await refresh(app, 'not-a-token', from)).status).toBe(401);
        // A known session's wrong secret is a failure too, and is charged as one.
        const limited = await refresh(app, guess(other.split('.')[0]), from);
        expect([limited.status, limited.body.code, limited.headers['retry-after']]).toEqual([429, 'RATE_LIMITED', '20']);
        expect((await refresh(app, token, from)).status).toBe(429);
        expect((await refresh(app, token, '203.0.113.51')).status).toBe(200);
      } finally {
        clock.restore();
        await app.close();
      }
    },
  );

  it('case 47: a failure the rotation classifies (a wrong secret of a known session) is charged to the address before it is answered', async () => {
    const app = await behindProxy({ refreshPerIp: { limit: 2, window: '1m' }, refreshPerSession: false });
    const clock = useFakeDate();
    try {
      const [sessionId] = (await bearerSession(app, 'gina')).split('.');
      for (let i = 0; i < 2; i++) expect((await refresh(app, guess(sessionId), '203.0.113.60')).status).toBe(401);
      // Refused by the address's own limit, read in the rotation's statement: no charge follows it.
      const pg = createRequire(require.resolve('typeorm'))('pg') as { Client: { prototype: { query: (...args: unknown[]) => unknown } } };
      const spy = jest.spyOn(pg.Client.prototype, 'query');
      try {
        expect((await refresh(app, guess(sessionId), '203.0.113.60')).status).toBe(429);
        expect(spy).toHaveBeenCalledTimes(1);
      } finally {
        spy.mockRestore();
      }
    } finally {
      clock.restore();
      await app.close();
    }
  });

  it('case 47: per session id, guesses at one session from many addresses are limited; the holder waits Retry-After; other sessions and the session itself are untouched', async () => {
    const app = await behindProxy({ refreshPerIp: false, refreshPerSession: { limit: 4, window: '1m' } });
    const clock = useFakeDate();
    try {
      const token = await bearerSession(app, 'bob');
      const other = await bearerSession(app, 'carol');
      const [sessionId] = token.split('.');
      for (let i = 0; i < 4; i++) expect((await refresh(app, guess(sessionId), `203.0.113.${i + 10}`)).status).toBe(401);
      const limited = await refresh(app, guess(sessionId), '203.0.113.99');
      expect([limited.status, limited.headers['retry-after']]).toEqual([429, '15']);
      expect((await refresh(app, token)).status).toBe(429);
      expect((await refresh(app, other)).status).toBe(200);
      clock.advance(15_000);
      const rotated = await refresh(app, token);
      expect(rotated.status).toBe(200);
      expect(rotated.body.refreshToken).toMatch(new RegExp(`^${sessionId}\\.`));
    } finally {
      clock.restore();
      await app.close();
    }
  });

  it.each([['postgres' as const], ['memory' as const]])(
    "case 47: per session id, good refreshes count too (store '%s'); with Postgres the count is kept in the session's own row, so a refresh writes no auth_rate_limits row",
    async (store) => {
      const app = await behindProxy({ refreshPerIp: false, refreshPerSession: { limit: 3, window: '1m' }, store });
      const dataSource = app.app.get(DataSource);
      const clock = useFakeDate();
      try {
        await dataSource.query(`DELETE FROM auth_rate_limits`);
        let token = await bearerSession(app, 'hana');
        const [sessionId] = token.split('.');
        for (let i = 0; i < 3; i++) {
          const res = await refresh(app, token);
          expect(res.status).toBe(200);
          token = res.body.refreshToken as string;
        }
        const limited = await refresh(app, token);
        expect([limited.status, limited.body.code, limited.headers['retry-after']]).toEqual([429, 'RATE_LIMITED', '20']);
        expect(Number((await dataSource.query(`SELECT count(*) FROM auth_rate_limits`))[0].count)).toBe(0);
        const [{ tat }] = await dataSource.query(`SELECT refresh_tat_us AS tat FROM auth_sessions WHERE id = $1`, [sessionId]);
        expect(tat === null).toBe(store === 'memory');
        clock.advance(20_000);
        expect((await refresh(app, token)).status).toBe(200);
      } finally {
        clock.restore();
        await app.close();
      }
    },
  );

  it.each([['postgres' as const], ['memory' as const]])(
    "case 47: per session id, a grace answer counts too (store '%s'): the previous secret cannot mint access tokens past the session's limit",
    async (store) => {
      const app = await behindProxy({ refreshPerIp: false, refreshPerSession: { limit: 3, window: '1m' }, store });
      const clock = useFakeDate();
      try {
        const token = await bearerSession(app, 'ines');
        const rotated = await refresh(app, token);
        expect(rotated.status).toBe(200);
        expect(rotated.body.refreshToken).toEqual(expect.any(String));
        for (let i = 0; i < 2; i++) {
          const grace = await refresh(app, token);
          expect(grace.status).toBe(200);
          expect(grace.body.refreshToken).toBeUndefined();
        }
        const limited = await refresh(app, token);
        expect([limited.status, limited.body.code]).toEqual([429, 'RATE_LIMITED']);
      } finally {
        clock.restore();
        await app.close();
      }
    },
  );

  it('case 47: the defaults are 30 per minute per session and 120 per minute per address', async () => {
    const app = await behindProxy(undefined);
    // A still clock: at 120 a minute, half a second of real time would refill one attempt.
    const clock = useFakeDate();
    try {
      const [sessionId] = (await bearerSession(app, 'dave')).split('.');
      const statuses: number[] = [];
      for (let i = 0; i < 31; i++) statuses.push((await refresh(app, guess(sessionId), '203.0.113.20')).status);
      expect(statuses.slice(0, 30)).toEqual(Array(30).fill(401));
      expect(statuses[30]).toBe(429);
      // 31 attempts spent of the address's 120 (the refused one counted there first).
      for (let i = 0; i < 89; i++) expect((await refresh(app, 'garbage', '203.0.113.20')).status).toBe(401);
      expect((await refresh(app, 'garbage', '203.0.113.20')).status).toBe(429);
      expect((await refresh(app, 'garbage', '203.0.113.21')).status).toBe(401);
    } finally {
      clock.restore();
      await app.close();
    }
  });

  it('case 47: two instances on one database share the counts (the default Postgres store)', async () => {
    const shared = { ...secrets(), rateLimits: { refreshPerIp: { limit: 4, window: '1m' }, refreshPerSession: false as const } };
    const [a, b] = [await startBareApp({ trustProxy: true, session: shared }), await startBareApp({ trustProxy: true, session: shared })];
    try {
      const from = '203.0.113.30';
      for (const app of [a, b, a, b]) expect((await refresh(app, 'garbage', from)).status).toBe(401);
      expect((await refresh(a, 'garbage', from)).status).toBe(429);
      expect((await refresh(b, 'garbage', from)).status).toBe(429);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("with store 'memory' each instance counts on its own (documented: N instances allow N times the limit)", async () => {
    const shared = { ...secrets(), rateLimits: { refreshPerIp: { limit: 2, window: '1m' }, refreshPerSession: false as const, store: 'memory' as const } };
    const [a, b] = [await startBareApp({ trustProxy: true, session: shared }), await startBareApp({ trustProxy: true, session: shared })];
    const rows = async () => Number((await a.app.get(DataSource).query(`SELECT count(*) FROM auth_rate_limits`))[0].count);
    try {
      await a.app.get(DataSource).query(`DELETE FROM auth_rate_limits`);
      const from = '203.0.113.40';
      for (let i = 0; i < 2; i++) expect((await refresh(a, 'garbage', from)).status).toBe(401);
      expect((await refresh(a, 'garbage', from)).status).toBe(429);
      for (let i = 0; i < 2; i++) expect((await refresh(b, 'garbage', from)).status).toBe(401);
      expect(await rows()).toBe(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('case 50: the limits fail closed: with their table gone, refresh is a 503 with no tokens, and the log says which migration is missing', async () => {
    const app = await behindProxy(undefined);
    const dataSource = app.app.get(DataSource);
    try {
      const token = await bearerSession(app, 'erin');
      await dataSource.query(`ALTER TABLE auth_rate_limits RENAME TO auth_rate_limits_gone`);
      try {
        const res = await refresh(app, token);
        expect(res.status).toBe(503);
        expect(res.body.code).toBe('SERVICE_UNAVAILABLE');
        expect(JSON.stringify(res.body)).not.toMatch(/auth_rate_limits|refreshToken|accessToken/);
      } finally {
        await dataSource.query(`ALTER TABLE auth_rate_limits_gone RENAME TO auth_rate_limits`);
      }
      expect(app.logger.lines.some((l) => l.includes('auth_rate_limits is missing: run the migrations in sessionMigrations'))).toBe(true);
      expect((await refresh(app, token)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('cleanup deletes keys whose count has refilled and keeps the ones still counting', async () => {
    const app = await behindProxy({ refreshPerIp: { limit: 2, window: '1m' }, refreshPerSession: false });
    const dataSource = app.app.get(DataSource);
    const keys = async () => Number((await dataSource.query(`SELECT count(*) FROM auth_rate_limits`))[0].count);
    const clock = useFakeDate();
    try {
      await dataSource.query(`DELETE FROM auth_rate_limits`);
      await refresh(app, 'garbage', '203.0.113.50');
      clock.advance(61_000);
      await refresh(app, 'garbage', '203.0.113.51');
      expect(await keys()).toBe(2);
      const report = await app.app.get(SessionCleanupService).runOnce();
      expect(report.rateLimitKeysDeleted).toBe(1);
      expect(await keys()).toBe(1);
      // The key still counting kept its state: one attempt left of two.
      expect((await refresh(app, 'garbage', '203.0.113.51')).status).toBe(401);
      expect((await refresh(app, 'garbage', '203.0.113.51')).status).toBe(429);
    } finally {
      clock.restore();
      await app.close();
    }
  });

  it.each([
    [{ refreshPerIp: { limit: 0, window: '1m' } }, 'rateLimits.refreshPerIp.limit must be a whole number from 1'],
    [{ refreshPerSession: { limit: 5, window: '0' } }, 'rateLimits.refreshPerSession.window must be from 1 s to 24 h'],
    [{ refreshPerSession: { limit: 5, window: 'soon' } }, 'rateLimits.refreshPerSession.window must be a number of seconds'],
    [{ store: 'redis' }, 'rateLimits.store must be "postgres", "memory" or an object with consume'],
  ])('a bad setting stops the start, saying what to fix: %j', async (rateLimits, message) => {
    await expect(behindProxy(rateLimits as never)).rejects.toThrow(message);
  });
});

/** docs/security.md case 47 in the sample app: login and register per client address and per account. */
describe('sample app login and register limits', () => {
  const login = (server: unknown, email: string, from: string) =>
    request(server as never).post('/auth/login').set('X-Forwarded-For', from).send({ email, password: 'wrong password' });
  const register = (server: unknown, email: string, from: string) =>
    request(server as never).post('/auth/register').set('X-Forwarded-For', from).send({ email, password: PASSWORD });

  it('case 47: login per account from one address (429 with Retry-After, in any spelling of the email); the account\'s owner elsewhere and another account are unaffected', async () => {
    const t = await startApp({ TRUST_PROXY: 'loopback', LOGIN_ACCOUNT_RATE_LIMIT: '3' });
    const clock = useFakeDate();
    try {
      const email = uniqueEmail('target');
      for (let i = 0; i < 3; i++) expect((await login(t.server, email, '203.0.113.60')).status).toBe(401);
      // The same account in another spelling is the same account.
      const limited = await login(t.server, email.toUpperCase(), '203.0.113.60');
      expect([limited.status, limited.body.code, limited.headers['retry-after']]).toEqual([429, 'RATE_LIMITED', '20']);
      expect((await login(t.server, email, '203.0.113.61')).status).toBe(401);
      expect((await login(t.server, uniqueEmail('other'), '203.0.113.60')).status).toBe(401);
    } finally {
      clock.restore();
      await t.close();
    }
  });

  it.each<[string, string]>([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2::a', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff:0:0:1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
  ])('an IPv6 client counts by its /64 (one host can have billions of addresses): %s → %s', (ip, key) => {
    expect(addressKey(ip)).toBe(key);
  });

  it('login per address: two addresses of one IPv6 /64 share a budget; another /64 has its own', async () => {
    const t = await startApp({ TRUST_PROXY: 'loopback', LOGIN_RATE_LIMIT: '2' });
    const clock = useFakeDate();
    try {
      const email = uniqueEmail('v6');
      expect((await login(t.server, email, '2001:db8:1:2::a')).status).toBe(401);
      expect((await login(t.server, email, '2001:db8:1:2::b')).status).toBe(401);
      expect((await login(t.server, uniqueEmail('v6-other'), '2001:db8:1:2:ffff::9')).status).toBe(429);
      expect((await login(t.server, uniqueEmail('v6-other'), '2001:db8:1:3::a')).status).toBe(401);
    } finally {
      clock.restore();
      await t.close();
    }
  });

  it('the per-account limit cannot lock the owner out: wrong passwords from five addresses, then the owner from a sixth logs in', async () => {
    const t = await startApp({ TRUST_PROXY: 'loopback', LOGIN_ACCOUNT_RATE_LIMIT: '5' });
    const clock = useFakeDate();
    try {
      const email = uniqueEmail('owner');
      expect((await register(t.server, email, '203.0.113.90')).status).toBe(201);
      for (let i = 0; i < 5; i++) expect((await login(t.server, email, `203.0.113.${91 + i}`)).status).toBe(401);
      // The attacker keeps trying, one wrong password per address: none of it spends the owner's attempts.
      for (let i = 0; i < 5; i++) expect((await login(t.server, email, `203.0.113.${91 + i}`)).status).toBe(401);
      const owner = await request(t.server).post('/auth/login').set('X-Forwarded-For', '198.51.100.7').send({ email, password: PASSWORD });
      expect(owner.status).toBe(200);
    } finally {
      clock.restore();
      await t.close();
    }
  });

  it(`the account-wide ceiling (${ACCOUNT_CEILING_FACTOR} × the per-account limit) stops a guesser with many addresses`, async () => {
    const t = await startApp({ TRUST_PROXY: 'loopback', LOGIN_ACCOUNT_RATE_LIMIT: '1' });
    const clock = useFakeDate();
    try {
      const email = uniqueEmail('ceiling');
      for (let i = 0; i < ACCOUNT_CEILING_FACTOR; i++) expect((await login(t.server, email, `192.0.2.${10 + i}`)).status).toBe(401);
      const refused = await login(t.server, email, '192.0.2.200');
      expect([refused.status, refused.body.code]).toEqual([429, 'RATE_LIMITED']);
    } finally {
      clock.restore();
      await t.close();
    }
  });

  it('a per-account limit whose ceiling would pass the limiter\'s bound still logs in (the ceiling is capped, not a 500)', async () => {
    const t = await startApp({ TRUST_PROXY: 'loopback', LOGIN_ACCOUNT_RATE_LIMIT: '100000000' });
    try {
      const wrong = await login(t.server, uniqueEmail('high-limit'), '192.0.2.7');
      expect([wrong.status, wrong.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);
    } finally {
      await t.close();
    }
  });

  it('case 47: register per address, and per account across addresses, answer 429 with Retry-After', async () => {
    const t = await startApp({ TRUST_PROXY: 'loopback', REGISTER_RATE_LIMIT: '2', REGISTER_ACCOUNT_RATE_LIMIT: '2' });
    const clock = useFakeDate();
    try {
      expect((await register(t.server, uniqueEmail(), '203.0.113.80')).status).toBe(201);
      expect((await register(t.server, uniqueEmail(), '203.0.113.80')).status).toBe(201);
      const perAddress = await register(t.server, uniqueEmail(), '203.0.113.80');
      expect([perAddress.status, perAddress.body.code, perAddress.headers['retry-after']]).toEqual([429, 'RATE_LIMITED', '30']);
      const email = uniqueEmail('probe');
      expect((await register(t.server, email, '203.0.113.81')).status).toBe(201);
      expect((await register(t.server, email, '203.0.113.82')).status).toBe(409);
      const perAccount = await register(t.server, email, '203.0.113.83');
      expect([perAccount.status, perAccount.body.code]).toEqual([429, 'RATE_LIMITED']);
      expect(perAccount.headers['retry-after']).toBe('30');
    } finally {
      clock.restore();
      await t.close();
    }
  });
});
