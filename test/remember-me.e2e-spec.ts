import request from 'supertest';
import { DataSource } from 'typeorm';
import { startApp, type TestApp } from './support/app';
import { ACCESS, Browser, CSRF, PASSWORD, REFRESH, setCookies, uniqueEmail } from './support/browser';
import { startBareApp } from './support/bare-app';
import { useFakeDate } from './support/clock';

const DAY = 86_400_000;

/** "remember me" (a long profile with persistent cookies) and lifetimes chosen per user. */
describe('remember me', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ REMEMBER_ME: 'true', REMEMBER_ME_IDLE_TIMEOUT: '30d', REMEMBER_ME_ABSOLUTE_TIMEOUT: '90d' });
  });
  afterAll(() => t.close());

  async function login(rememberMe?: boolean) {
    const email = uniqueEmail('remember');
    expect((await request(t.server).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201);
    const browser = new Browser(t);
    const res = await browser.post('/auth/login', { email, password: PASSWORD, ...(rememberMe === undefined ? {} : { rememberMe }) });
    expect(res.status).toBe(200);
    return { browser, res };
  }
  const byName = (res: request.Response) => Object.fromEntries(setCookies(res).map((c) => [c.name, c]));

  it('without rememberMe: the default lifetimes, and cookies that end with the browser session (no Max-Age, no Expires), on login and on every refresh', async () => {
    const { browser, res } = await login();
    for (const response of [res, await browser.post('/auth/refresh')]) {
      const cookies = byName(response);
      for (const name of [ACCESS, REFRESH, CSRF]) {
        expect(cookies[name].attributes['max-age']).toBeUndefined();
        expect(cookies[name].attributes.expires).toBeUndefined();
      }
    }
    expect(new Date(res.body.sessionExpiresAt).getTime() - Date.now()).toBeLessThanOrEqual(DAY);
    const csrf = await browser.send('get', '/auth/csrf');
    expect(byName(csrf)[CSRF].attributes['max-age']).toBeUndefined();
  });

  it('with rememberMe: 30 days idle, persistent cookies for as long as the session lasts, kept by refreshes', async () => {
    const { browser, res } = await login(true);
    const idle = new Date(res.body.sessionExpiresAt).getTime() - Date.now();
    expect(idle).toBeGreaterThan(29 * DAY);
    expect(idle).toBeLessThanOrEqual(30 * DAY);
    for (const response of [res, await browser.post('/auth/refresh')]) {
      const cookies = byName(response);
      for (const name of [ACCESS, REFRESH, CSRF]) expect(Number(cookies[name].attributes['max-age'])).toBeGreaterThan(29 * 86_400);
    }
    expect(Number(byName(await browser.send('get', '/auth/csrf'))[CSRF].attributes['max-age'])).toBeGreaterThan(29 * 86_400);
  });

  it('the long profile is enforced by the server: idle 29 days still refreshes, then 90 days absolute ends it; the short one ends after a day idle', async () => {
    const clock = useFakeDate();
    try {
      const { browser: remembered } = await login(true);
      const { browser: plain } = await login(false);
      clock.advance(2 * DAY);
      expect((await plain.post('/auth/refresh')).body.code).toBe('REAUTHENTICATION_REQUIRED');
      expect((await remembered.post('/auth/refresh')).status).toBe(200);
      for (let day = 2; day < 88; day += 29) {
        clock.advance(29 * DAY);
        const res = await remembered.post('/auth/refresh');
        if (day + 29 < 90) expect(res.status).toBe(200);
        else expect(res.body.code).toBe('REAUTHENTICATION_REQUIRED');
      }
    } finally {
      clock.restore();
    }
  });

  it('rememberMe must be a boolean', async () => {
    const email = uniqueEmail('remember');
    const res = await request(t.server).post('/auth/login').send({ email, password: PASSWORD, rememberMe: 'yes' });
    expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('without a rememberMe profile, every session keeps persistent cookies (as before the feature)', async () => {
    const plain = await startApp();
    try {
      const email = uniqueEmail('plain');
      await request(plain.server).post('/auth/register').send({ email, password: PASSWORD });
      const res = await request(plain.server).post('/auth/login').send({ email, password: PASSWORD });
      for (const c of setCookies(res)) expect(Number(c.attributes['max-age'])).toBeGreaterThan(23 * 3600);
    } finally {
      await plain.close();
    }
  });

  it('sessionLifetime chooses lifetimes from the user (shorter for an administrator); an unusable answer is logged and the profile applies', async () => {
    const app = await startBareApp({
      session: {
        sessionLifetime: (user: { id: unknown }) => (user.id === 'broken' ? { idleTimeout: '1s' } : user.id === 'root' ? { idleTimeout: '1h', absoluteTimeout: '8h' } : null),
      } as never,
    });
    const clock = useFakeDate();
    try {
      const login = (id: string) => request(app.server).post('/login').set('X-Session-Transport', 'bearer').send({ id });
      const left = (res: request.Response) => new Date(res.body.sessionExpiresAt).getTime() - Date.now();
      const [reader, admin, broken] = [await login('reader'), await login('root'), await login('broken')];
      expect(left(reader)).toBe(DAY);
      expect(left(admin)).toBe(3600_000);
      expect(left(broken)).toBe(DAY);
      expect(app.logger.lines.some((l) => l.includes('sessionLifetime returned a lifetime that cannot be used'))).toBe(true);
      // Every refresh keeps the admin's one-hour idle timeout, and eight hours is the end.
      clock.advance(50 * 60_000);
      const refreshed = await request(app.server).post('/auth/refresh').send({ refreshToken: admin.body.refreshToken });
      expect(refreshed.status).toBe(200);
      // The refresh answer does not carry the session's end; the row does.
      const [row] = await app.app.get(DataSource).query(`SELECT expires_at FROM auth_sessions WHERE id = $1`, [admin.body.refreshToken.split('.')[0]]);
      expect(new Date(row.expires_at).getTime() - Date.now()).toBe(3600_000);
      clock.advance(61 * 60_000);
      expect((await request(app.server).post('/auth/refresh').send({ refreshToken: refreshed.body.refreshToken })).body.code).toBe('REAUTHENTICATION_REQUIRED');
    } finally {
      clock.restore();
      await app.close();
    }
  });
});
