import request from 'supertest';
import { startApp, type TestApp } from './support/app';
import { ACCESS, Browser, PASSWORD, REFRESH, signedInBrowser, uniqueEmail } from './support/browser';
import { useFakeDate } from './support/clock';

const MINUTE = 60_000;
const NEW_PASSWORD = 'a different horse battery staple';
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;

/** @RequireFreshSession and re-authentication; docs/security.md case 32 (a password change ends the other sessions). */
describe('fresh sessions and the password change', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('the access token carries auth_time (the login); a refresh keeps it, it does not renew it', async () => {
    const clock = useFakeDate();
    try {
      const loggedInAt = Math.floor(Date.now() / 1000);
      const { browser } = await signedInBrowser(t);
      expect(claimsOf(browser.get(ACCESS)!).auth_time).toBe(loggedInAt);
      clock.advance(3 * MINUTE);
      expect((await browser.post('/auth/refresh')).status).toBe(200);
      expect(claimsOf(browser.get(ACCESS)!).auth_time).toBe(loggedInAt);
    } finally {
      clock.restore();
    }
  });

  it('case 32: within 5 minutes of the login the password can change; every other session ends, this one stays, the new password works', async () => {
    const { browser, email } = await signedInBrowser(t);
    const phone = new Browser(t, 'phone');
    expect((await phone.post('/auth/login', { email, password: PASSWORD })).status).toBe(200);
    const phoneSession = phone.get(REFRESH)!.split('.')[0];
    expect((await browser.post('/account/password', { newPassword: NEW_PASSWORD })).status).toBe(204);
    expect((await phone.send('get', '/me')).body.code).toBe('SESSION_REVOKED');
    expect((await phone.post('/auth/refresh')).status).toBe(401);
    expect((await browser.send('get', '/me')).status).toBe(200);
    const [row] = await t.dataSource.query(`SELECT revoke_reason FROM auth_sessions WHERE id = $1`, [phoneSession]);
    expect(row.revoke_reason).toBe('password_changed');
    expect((await request(t.server).post('/auth/login').send({ email, password: PASSWORD })).status).toBe(401);
    expect((await request(t.server).post('/auth/login').send({ email, password: NEW_PASSWORD })).status).toBe(200);
  });

  it('after 5 minutes it is 401 REAUTHENTICATION_REQUIRED; a wrong password does not help; the right one re-opens the window', async () => {
    const clock = useFakeDate();
    try {
      const { browser } = await signedInBrowser(t);
      clock.advance(6 * MINUTE);
      // A refresh is not a re-authentication.
      expect((await browser.post('/auth/refresh')).status).toBe(200);
      const stale = await browser.post('/account/password', { newPassword: NEW_PASSWORD });
      expect([stale.status, stale.body.code]).toEqual([401, 'REAUTHENTICATION_REQUIRED']);
      const wrong = await browser.post('/auth/reauthenticate', { password: 'not the password' });
      expect([wrong.status, wrong.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);
      expect((await browser.post('/account/password', { newPassword: NEW_PASSWORD })).body.code).toBe('REAUTHENTICATION_REQUIRED');
      const confirmed = await browser.post('/auth/reauthenticate', { password: PASSWORD });
      expect(confirmed.status).toBe(200);
      expect(claimsOf(browser.get(ACCESS)!).auth_time).toBe(Math.floor(Date.now() / 1000));
      expect((await browser.post('/account/password', { newPassword: NEW_PASSWORD })).status).toBe(204);
      // The window is counted from the re-authentication, and closes again.
      clock.advance(6 * MINUTE);
      expect((await browser.post('/auth/refresh')).status).toBe(200);
      expect((await browser.post('/account/password', { newPassword: PASSWORD })).body.code).toBe('REAUTHENTICATION_REQUIRED');
    } finally {
      clock.restore();
    }
  });

  it('a bearer client re-authenticates and gets its new access token in the body; the refresh token stays', async () => {
    const clock = useFakeDate();
    try {
      const email = uniqueEmail('fresh');
      await request(t.server).post('/auth/register').send({ email, password: PASSWORD });
      const login = await request(t.server).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
      clock.advance(6 * MINUTE);
      const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
      const stale = await request(t.server).post('/account/password').set(bearer(login.body.accessToken)).send({ newPassword: NEW_PASSWORD });
      expect(stale.body.code).toBe('REAUTHENTICATION_REQUIRED');
      const confirmed = await request(t.server).post('/auth/reauthenticate').set(bearer(login.body.accessToken)).send({ password: PASSWORD });
      expect(confirmed.status).toBe(200);
      expect(confirmed.body.refreshToken).toBeUndefined();
      expect((await request(t.server).post('/account/password').set(bearer(confirmed.body.accessToken)).send({ newPassword: NEW_PASSWORD })).status).toBe(204);
      expect((await request(t.server).post('/auth/refresh').send({ refreshToken: login.body.refreshToken })).status).toBe(200);
    } finally {
      clock.restore();
    }
  });

  it('re-authentication needs a session, the CSRF token, and is rate-limited per account like a login', async () => {
    expect((await request(t.server).post('/auth/reauthenticate').send({ password: PASSWORD })).status).toBe(401);
    const { browser } = await signedInBrowser(t);
    expect((await browser.send('post', '/auth/reauthenticate', { body: { password: PASSWORD }, csrf: false })).status).toBe(403);
    const limited = await startApp({ LOGIN_ACCOUNT_RATE_LIMIT: '2' });
    try {
      const { browser: other } = await signedInBrowser(limited);
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await other.post('/auth/reauthenticate', { password: 'not the password' })).status);
      expect(statuses).toEqual([401, 401, 429]);
    } finally {
      await limited.close();
    }
  });
});
