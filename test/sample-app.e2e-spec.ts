import request from 'supertest';
import { startApp, type TestApp } from './support/app';
import { PASSWORD, setCookies, signedInBrowser, uniqueEmail } from './support/browser';
import { PasswordHasher } from '../apps/sample/src/users/password-hasher';
import { SecurityEventsService } from '../apps/sample/src/audit/security-events.service';

/** The sample app's own surface: login answers, error bodies, health, rate limits. */
describe('sample app', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ LOGIN_RATE_LIMIT: '5', REGISTER_RATE_LIMIT: '100000' });
  });
  afterAll(() => t.close());

  it('case 35: an unknown email still costs exactly one argon2 verification, like a wrong password', async () => {
    const { email } = await signedInBrowser(t);
    const hasher = t.app.get(PasswordHasher);
    const verify = jest.spyOn(hasher, 'verify');
    try {
      const unknown = await request(t.server).post('/auth/login').send({ email: uniqueEmail('ghost'), password: 'wrong password' });
      expect(verify).toHaveBeenCalledTimes(1);
      expect(verify.mock.calls[0][0]).toBe(await hasher.dummyHash);
      verify.mockClear();
      const wrong = await request(t.server).post('/auth/login').send({ email, password: 'wrong password' });
      expect(verify).toHaveBeenCalledTimes(1);
      expect(unknown.status).toBe(401);
      expect(wrong.status).toBe(401);
      expect(unknown.body).toEqual(wrong.body);
    } finally {
      verify.mockRestore();
    }
  });

  it('error bodies are { statusCode, code, message } for unknown routes, bad JSON and wrong methods', async () => {
    const notFound = await request(t.server).get('/no/such/route');
    expect(notFound.body).toEqual({ statusCode: 404, code: 'NOT_FOUND', message: expect.any(String) });
    const badJson = await request(t.server).post('/auth/register').set('Content-Type', 'application/json').send('{"email": ');
    expect(badJson.status).toBe(400);
    expect(badJson.body).toEqual({ statusCode: 400, code: 'VALIDATION_FAILED', message: expect.any(String) });
    expect(JSON.stringify(badJson.body)).not.toMatch(/Unexpected|JSON at position|at .*\.js/);
    const extra = await request(t.server).post('/auth/register').send({ email: uniqueEmail(), password: PASSWORD, roles: ['admin'] });
    expect(extra.status).toBe(400);
    expect(extra.body.code).toBe('VALIDATION_FAILED');
  });

  it('case 44: GET or HEAD on refresh and logout change nothing (404)', async () => {
    const { browser } = await signedInBrowser(t);
    for (const path of ['/auth/refresh', '/auth/logout', '/auth/logout-all']) {
      expect((await browser.send('get', path)).status).toBe(404);
      expect((await request(t.server).head(path)).status).toBe(404);
    }
    expect((await browser.send('get', '/me')).status).toBe(200);
  });

  it('/health reports the database', async () => {
    expect((await request(t.server).get('/health')).body).toEqual({ status: 'ok', db: 'up', revocationListener: expect.stringMatching(/^(up|not-applicable)$/) });
  });

  it('case 47: login over its limit is 429 RATE_LIMITED with Retry-After', async () => {
    const email = uniqueEmail();
    let last: request.Response | undefined;
    for (let i = 0; i < 7; i++) {
      last = await request(t.server).post('/auth/login').send({ email, password: 'wrong password' });
      if (last.status === 429) break;
    }
    expect(last!.status).toBe(429);
    expect(last!.body).toEqual({ statusCode: 429, code: 'RATE_LIMITED', message: expect.any(String) });
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('sample app failure answers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('unknown body properties are refused without echoing their names', async () => {
    const res = await request(t.server).post('/auth/register').send({ email: uniqueEmail(), password: PASSWORD, '<img src=x>': 1 });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(res.body)).not.toContain('img');
  });

  it('a failing user loader during refresh is a 503 with no tokens, never a 500', async () => {
    const { browser } = await signedInBrowser(t);
    await t.dataSource.query('ALTER TABLE users RENAME TO users_away');
    let res: request.Response;
    try {
      res = await browser.post('/auth/refresh');
    } finally {
      await t.dataSource.query('ALTER TABLE users_away RENAME TO users');
    }
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ statusCode: 503, code: 'SERVICE_UNAVAILABLE', message: expect.any(String) });
    expect(res.headers['set-cookie'] ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(/=[^;]+;/)]));
    expect((await browser.post('/auth/refresh')).status).toBe(200);
  });

  it('GET /auth/csrf sets a CSRF cookie that lives no longer than the session', async () => {
    const { browser } = await signedInBrowser(t);
    const sid = browser.get('__Secure-ns-rt')!.split('.')[0];
    await t.dataSource.query(`UPDATE auth_sessions SET expires_at = $2 WHERE id = $1`, [sid, new Date(Date.now() + 60_000)]);
    const res = await browser.send('get', '/auth/csrf');
    expect(res.status).toBe(200);
    const cookie = setCookies(res).find((c) => c.name === '__Host-ns-csrf')!;
    expect(Number(cookie.attributes['max-age'])).toBeLessThanOrEqual(60);
  });
});

describe('sample app: failed logins', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('a failed login to a known account awaits nothing an unknown email does not: its security event is written after the answer', async () => {
    const { email } = await signedInBrowser(t);
    const events = t.app.get(SecurityEventsService);
    // An insert that never finishes: a login that awaited it would never answer.
    const record = jest.spyOn(events, 'record').mockReturnValue(new Promise<void>(() => undefined));
    try {
      const answer = (body: object) => Promise.race([
        request(t.server).post('/auth/login').send(body).then((res) => res.status),
        new Promise((resolve) => setTimeout(() => resolve('no answer within 5 s'), 5_000)),
      ]);
      expect(await answer({ email, password: 'wrong password' })).toBe(401);
      expect(record).toHaveBeenCalledTimes(1);
      expect(record.mock.calls[0][1]).toBe('login.failed');
      expect(await answer({ email: uniqueEmail('ghost'), password: 'wrong password' })).toBe(401);
      expect(record).toHaveBeenCalledTimes(1);
    } finally {
      record.mockRestore();
    }
  });
});
