import request from 'supertest';
import { startAppProcess, type AppProcess } from '../support/processes';
import { uniqueEmail } from '../support/browser';

/**
 * docs/security.md case 47 across processes: two app processes on one PostgreSQL server count every
 * attempt together, also when the attempts race each other. The window is an hour, so no
 * attempt is refilled while a test runs, however slow the machine.
 */
describe('rate limits shared by two app processes (PostgreSQL server)', () => {
  let a: AppProcess;
  let b: AppProcess;

  beforeAll(async () => {
    const env = { TRUST_PROXY: 'loopback', RATE_LIMIT_WINDOW: '1h', REFRESH_RATE_LIMIT: '6', LOGIN_ACCOUNT_RATE_LIMIT: '4', LOGIN_RATE_LIMIT: '1000' };
    [a, b] = await Promise.all([startAppProcess(env), startAppProcess(env)]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([a, b].filter(Boolean).map((p) => p.stop()));
  });

  const refreshFrom = (app: AppProcess, ip: string) =>
    request(app.url).post('/auth/refresh').set('X-Forwarded-For', ip).send({ refreshToken: 'not-a-token' });

  it('case 47: refresh per address: 20 racing attempts spread over both processes, exactly 6 get through', async () => {
    const ip = `198.51.100.${Math.floor(Math.random() * 200) + 20}`;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => refreshFrom(i % 2 ? a : b, ip)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(6);
    expect(statuses.filter((s) => s === 429)).toHaveLength(14);
    for (const r of results.filter((x) => x.status === 429)) expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    // Both processes refuse the address from now on.
    expect((await refreshFrom(a, ip)).status).toBe(429);
    expect((await refreshFrom(b, ip)).status).toBe(429);
  });

  it('case 47: login per account from one address: attempts alternate between the processes and still stop at 4; the account-wide ceiling (20 × 4) too', async () => {
    const email = uniqueEmail('shared');
    const attempt = (i: number, from: string) =>
      request((i % 2 ? a : b).url).post('/auth/login').set('X-Forwarded-For', from).send({ email, password: 'wrong password' });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await attempt(i, '198.51.100.1')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    // 76 more from 19 other addresses (4 each) reach the ceiling of 80; then a new address is refused.
    const spread: number[] = [];
    for (let i = 0; i < 76; i++) spread.push((await attempt(i, `198.51.101.${Math.floor(i / 4) + 1}`)).status);
    expect(spread.filter((s) => s === 401)).toHaveLength(76);
    expect((await attempt(0, '198.51.102.1')).status).toBe(429);
    expect((await attempt(1, '198.51.102.2')).status).toBe(429);
  });
});
