import request from 'supertest';
import { startApp, type TestApp } from './support/app';
import { ACCESS, Browser, bearerLogin, PASSWORD, signedInBrowser, uniqueEmail } from './support/browser';
import { useFakeDate } from './support/clock';
import { parseServiceApiKeys } from '../apps/sample/src/service/service-api-keys';

// GET /stats accepts an admin's session (cookie or bearer) OR a service's API key
// (`x-api-key`, the sample's ApiKeyGuard), through the library's AnyGuard.

const REPORTING_KEY = 'rk_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
const BACKUP_KEY = 'bk_' + 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2';

describe('GET /stats: a session OR an API key', () => {
  let t: TestApp;
  const adminEmail = uniqueEmail('stats-admin');
  beforeAll(async () => {
    t = await startApp({ ADMIN_EMAILS: adminEmail, SERVICE_API_KEYS: `reporting=${REPORTING_KEY}, backup=${BACKUP_KEY}` });
  });
  afterAll(() => t.close());

  const stats = (headers: Record<string, string> = {}) => {
    let req = request(t.server).get('/stats');
    for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
    return req;
  };
  const counts = async () => ({
    users: Number((await t.dataSource.query('SELECT count(*)::int AS n FROM users'))[0].n),
    notes: Number((await t.dataSource.query('SELECT count(*)::int AS n FROM notes'))[0].n),
  });
  const expectError = (res: request.Response, status: number, code: string) => {
    expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
    expect(Object.keys(res.body).sort()).toEqual(['code', 'message', 'statusCode']);
  };

  it(`runs on ${process.env.NS_TEST_ADAPTER ?? 'express'}`, () => {
    expect(t.adapter).toBe(process.env.NS_TEST_ADAPTER ?? 'express');
  });

  it("an admin's cookie session: 200, the caller is the user, by session", async () => {
    const { browser, userId } = await signedInBrowser(t, adminEmail);
    const res = await browser.send('get', '/stats');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ caller: { id: userId, roles: ['admin'], via: 'session' }, ...(await counts()) });
  });

  it("an admin's bearer token: 200, by session", async () => {
    const admin = uniqueEmail('stats-admin-bearer');
    const other = await startApp({ ADMIN_EMAILS: admin });
    try {
      const { accessToken, userId } = await bearerLogin(other, admin);
      const res = await request(other.server).get('/stats').set('Authorization', `Bearer ${accessToken}`);
      expect(res.status).toBe(200);
      expect(res.body.caller).toEqual({ id: userId, roles: ['admin'], via: 'session' });
    } finally {
      await other.close();
    }
  });

  it('each configured API key, with no session: 200, the caller is the service, by key', async () => {
    const reporting = await stats({ 'x-api-key': REPORTING_KEY });
    expect(reporting.status).toBe(200);
    expect(reporting.body).toEqual({ caller: { id: 'service:reporting', roles: ['service'], via: 'api-key' }, ...(await counts()) });
    const backup = await stats({ 'x-api-key': BACKUP_KEY });
    expect(backup.status).toBe(200);
    expect(backup.body.caller).toEqual({ id: 'service:backup', roles: ['service'], via: 'api-key' });
  });

  it('a session without the admin role: FORBIDDEN (the session admits, RolesGuard refuses)', async () => {
    const { accessToken } = await bearerLogin(t);
    expectError(await stats({ Authorization: `Bearer ${accessToken}` }), 403, 'FORBIDDEN');
  });

  it('neither: UNAUTHENTICATED; a wrong, empty or doubled key: INVALID_API_KEY; a key in the query string counts for nothing', async () => {
    expectError(await stats(), 401, 'UNAUTHENTICATED');
    const wrong = await stats({ 'x-api-key': REPORTING_KEY.slice(0, -1) + 'x' });
    expectError(wrong, 401, 'INVALID_API_KEY');
    expect(JSON.stringify(wrong.body)).not.toContain(REPORTING_KEY.slice(0, 12));
    expectError(await stats({ 'x-api-key': '' }), 401, 'INVALID_API_KEY');
    const doubled = await request(t.server).get('/stats').set('x-api-key', [REPORTING_KEY, REPORTING_KEY] as unknown as string);
    expectError(doubled, 401, 'INVALID_API_KEY');
    expectError(await request(t.server).get(`/stats?x-api-key=${REPORTING_KEY}&api_key=${REPORTING_KEY}`), 401, 'UNAUTHENTICATED');
  });

  it('an expired access token and no key: ACCESS_TOKEN_EXPIRED (the session\'s reason, not the bare "no key"), so the client refreshes', async () => {
    const { browser } = await signedInBrowser(t, uniqueEmail('stats-expired'));
    const clock = useFakeDate();
    try {
      clock.advance(11 * 60_000);
      expectError(await browser.send('get', '/stats'), 401, 'ACCESS_TOKEN_EXPIRED');
      // With a wrong key as well, the first guard's reason answers: refresh.
      expectError(await browser.send('get', '/stats', { headers: { 'x-api-key': 'not-a-key' } }), 401, 'ACCESS_TOKEN_EXPIRED');
      // With a valid key the key stands on its own.
      const keyed = await browser.send('get', '/stats', { headers: { 'x-api-key': REPORTING_KEY } });
      expect({ status: keyed.status, via: keyed.body.caller?.via }).toEqual({ status: 200, via: 'api-key' });
    } finally {
      clock.restore();
    }
  });

  it('a revoked session: SESSION_REVOKED without a key, the service with one', async () => {
    const { accessToken } = await bearerLogin(t);
    const logout = await request(t.server).post('/auth/logout').set('Authorization', `Bearer ${accessToken}`);
    expect(logout.status).toBe(204);
    expectError(await stats({ Authorization: `Bearer ${accessToken}` }), 401, 'SESSION_REVOKED');
    const keyed = await stats({ Authorization: `Bearer ${accessToken}`, 'x-api-key': BACKUP_KEY });
    expect({ status: keyed.status, caller: keyed.body.caller }).toEqual({ status: 200, caller: { id: 'service:backup', roles: ['service'], via: 'api-key' } });
  });

  it('a request carrying both is the session\'s: the first guard that admits decides who calls', async () => {
    const browser = new Browser(t);
    const login = await browser.post('/auth/login', { email: adminEmail, password: PASSWORD });
    expect(login.status).toBe(200);
    const userId = login.body.user.id as string;
    const both = await browser.send('get', '/stats', { headers: { 'x-api-key': REPORTING_KEY } });
    expect(both.status).toBe(200);
    expect(both.body.caller).toEqual({ id: userId, roles: ['admin'], via: 'session' });
    expect(browser.get(ACCESS)).toBeDefined();
  });

  it.each<[string, string]>([
    ['32 of one letter', 'a'.repeat(32)],
    ['a short part repeated', 'x7Qp'.repeat(8)],
    ['words', 'my-reporting-service-api-key-change-me'],
    ['31 random characters', 'Zq3xV9mLk2PwR8tYb4NcH7sJf1GdE6u'],
  ])('SERVICE_API_KEYS keys are checked as the library checks its secrets: %s stops the start, the key not in the message', (_label, key) => {
    let message = '';
    try {
      parseServiceApiKeys(`reporting=${key}`);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^SERVICE_API_KEYS entry 1's key (looks like a placeholder|is \d+ bytes)/);
    expect(message).not.toContain(key);
    expect(message).not.toContain('nest-sessions:');
  });

  it('without SERVICE_API_KEYS no key is accepted', async () => {
    const bare = await startApp();
    try {
      expectError(await request(bare.server).get('/stats').set('x-api-key', REPORTING_KEY), 401, 'INVALID_API_KEY');
    } finally {
      await bare.close();
    }
  });

  it('the keys are never logged, and the OpenAPI document offers session or key for /stats', async () => {
    const lines = t.logger.lines.join('\n');
    expect(lines).not.toContain(REPORTING_KEY);
    expect(lines).not.toContain(BACKUP_KEY);
    const doc = (await request(t.server).get('/docs-json')).body;
    expect(doc.components.securitySchemes['api-key']).toEqual(expect.objectContaining({ type: 'apiKey', in: 'header', name: 'x-api-key' }));
    const security = doc.paths['/stats'].get.security as Array<Record<string, unknown>>;
    expect(security).toContainEqual({ 'api-key': [] });
    expect(security.length).toBeGreaterThan(1);
  });
});
