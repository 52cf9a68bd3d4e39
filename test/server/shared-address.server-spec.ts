import request from 'supertest';
import { Client } from 'pg';
import { startBareApp } from '../support/bare-app';

/**
 * Every client behind one address (a NAT, a proxy that is not trusted) shares one per-address
 * refresh limit, one row of `auth_rate_limits`. A refresh must not hold that row while it waits
 * for anything else: here session A's row is locked by another transaction, so A's refresh waits;
 * a refresh of session B from the same address must still go through at once. The rotation only
 * reads the address's row; if it charged it, B would wait for A (and, in production, every refresh
 * from the address for the commit of the one before it).
 */
describe('refreshes from one address (PostgreSQL server)', () => {
  let app: Awaited<ReturnType<typeof startBareApp>>;
  let locker: Client;
  /** Reads pg_stat_activity outside the locker's transaction (a transaction sees one snapshot of it). */
  let watcher: Client;

  beforeAll(async () => {
    app = await startBareApp({
      session: { rateLimits: { refreshPerIp: { limit: 1000, window: '1m' }, refreshPerSession: { limit: 1000, window: '1m' } } },
    });
    locker = new Client({ connectionString: process.env.DATABASE_URL });
    watcher = new Client({ connectionString: process.env.DATABASE_URL });
    await Promise.all([locker.connect(), watcher.connect()]);
  }, 60_000);
  afterAll(async () => {
    await locker?.end();
    await watcher?.end();
    await app?.close();
  });

  const login = async (id: string) => {
    const res = await request(app.server).post('/login').set('X-Session-Transport', 'bearer').send({ id });
    expect(res.status).toBe(200);
    const { refreshToken } = res.body as { refreshToken: string };
    return { refreshToken, sessionId: refreshToken.split('.')[0] }; // a refresh token is `<session id>.<secret>`
  };
  const refresh = (refreshToken: string) => request(app.server).post('/auth/refresh').send({ refreshToken });

  it('a refresh waiting on its own session does not hold up another session\'s refresh from the same address', async () => {
    const a = await login(`shared-a-${Date.now()}`);
    const b = await login(`shared-b-${Date.now()}`);
    // Both come from the same address (loopback).
    await locker.query('BEGIN');
    const locked = await locker.query('SELECT 1 FROM auth_sessions WHERE id = $1 FOR UPDATE', [a.sessionId]);
    expect(locked.rowCount).toBe(1);
    let aDone = false;
    const aRefresh = refresh(a.refreshToken).then((res) => {
      aDone = true;
      return res;
    });
    try {
      // A is waiting on its row: its statement shows up as waiting for a lock (its text may be
      // cut short in pg_stat_activity, so only the wait is matched).
      await waitFor(async () => {
        const { rows } = await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
        return rows[0].n === 1;
      });
      const bRes = await Promise.race([refresh(b.refreshToken), new Promise<null>((r) => setTimeout(() => r(null), 5_000))]);
      expect(bRes?.status).toBe(200);
      expect(aDone).toBe(false);
    } finally {
      await locker.query('ROLLBACK');
    }
    const aRes = await aRefresh;
    expect(aRes.status).toBe(200);
  }, 30_000);
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}
