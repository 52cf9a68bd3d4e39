import request from 'supertest';
import { SessionService } from 'nest-sessions';
import { startApp, type TestApp } from './support/app';
import { useFakeDate } from './support/clock';
import { ACCESS, bearerLogin, Browser, CSRF, PASSWORD, REFRESH, setCookies, signedInBrowser, uniqueEmail } from './support/browser';

describe('session lifecycle over HTTP (cookie and bearer transports)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ ADMIN_EMAILS: 'boss@example.test' });
  });
  afterAll(() => t.close());

  it('register → login → me → refresh → logout', async () => {
    const email = uniqueEmail();
    const browser = new Browser(t);
    const reg = await browser.post('/auth/register', { email, password: PASSWORD });
    expect(reg.status).toBe(201);
    expect(reg.body).toEqual({ id: expect.any(String), email });

    const login = await browser.post('/auth/login', { email, password: PASSWORD });
    expect(login.status).toBe(200);
    expect(login.body).toEqual({
      user: { id: reg.body.id, email },
      csrfToken: expect.any(String),
      accessTokenExpiresAt: expect.any(String),
      sessionExpiresAt: expect.any(String),
    });
    expect(browser.get(ACCESS)).toBeDefined();
    expect(browser.get(REFRESH)).toBeDefined();
    expect(browser.get(CSRF)).toBe(login.body.csrfToken);

    const me = await browser.send('get', '/me');
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ id: reg.body.id, email, roles: [], sessionId: expect.any(String) });

    const rt1 = browser.get(REFRESH)!;
    const at1 = browser.get(ACCESS)!;
    const refreshed = await browser.post('/auth/refresh');
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toEqual({ csrfToken: expect.any(String), accessTokenExpiresAt: expect.any(String) });
    expect(browser.get(REFRESH)).not.toBe(rt1);
    expect(browser.get(ACCESS)).not.toBe(at1);
    expect((await browser.send('get', '/me')).body.sessionId).toBe(me.body.sessionId);

    const logout = await browser.post('/auth/logout');
    expect(logout.status).toBe(204);
    expect(browser.cookies.size).toBe(0);
    const after = await request(t.server).get('/me').set('Cookie', `${ACCESS}=${at1}`);
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('SESSION_REVOKED');
  });

  it('login answers unknown email and wrong password the same way', async () => {
    const { email } = await signedInBrowser(t);
    const wrong = await request(t.server).post('/auth/login').send({ email, password: 'not the password' });
    const unknown = await request(t.server).post('/auth/login').send({ email: uniqueEmail('nobody'), password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body.code).toBe('INVALID_CREDENTIALS');
    expect(wrong.headers['set-cookie']).toBeUndefined();
  });

  it('register validates input, normalises emails and refuses a taken one with 409', async () => {
    const bad = await request(t.server).post('/auth/register').send({ email: 'not-an-email', password: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    const email = uniqueEmail();
    expect((await request(t.server).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201);
    const again = await request(t.server).post('/auth/register').send({ email: email.toUpperCase(), password: PASSWORD });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('EMAIL_TAKEN');
  });

  it('replaying a rotated refresh token outside the grace window revokes the whole session (RFC 9700)', async () => {
    const t0 = Date.now();
    const { browser } = await signedInBrowser(t);
    const rt1 = browser.get(REFRESH)!;
    expect((await browser.post('/auth/refresh')).status).toBe(200);
    const at2 = browser.get(ACCESS)!;
    expect((await browser.send('get', '/me')).status).toBe(200);

    // The grace window (10 s by default) is passed by moving the clock, not by sleeping.
    const clock = useFakeDate(t0);
    try {
      clock.advance(11_000);
      const thief = new Browser(t);
      thief.cookies.set(REFRESH, { value: rt1, path: '/auth' });
      thief.csrfToken = browser.csrfToken;
      const replay = await thief.post('/auth/refresh');
      expect(replay.status).toBe(401);
      expect(replay.body.code).toBe('SESSION_REVOKED');
      // The legitimate holder's newer refresh token and access token are dead too.
      expect((await browser.post('/auth/refresh')).status).toBe(401);
      const me = await request(t.server).get('/me').set('Cookie', `${ACCESS}=${at2}`);
      expect(me.status).toBe(401);
      expect(me.body.code).toBe('SESSION_REVOKED');
    } finally {
      clock.restore();
    }
    const row = await t.dataSource.query(`SELECT revoke_reason FROM auth_sessions WHERE id = $1`, [rt1.split('.')[0]]);
    expect(row[0].revoke_reason).toBe('reuse_detected');
  });

  it('when the thief refreshes first, the victim presenting the old token revokes the thief too', async () => {
    const { browser: victim } = await signedInBrowser(t);
    const rt1 = victim.get(REFRESH)!;
    const thief = new Browser(t);
    thief.cookies.set(REFRESH, { value: rt1, path: '/auth' });
    thief.csrfToken = victim.csrfToken;
    expect((await thief.post('/auth/refresh')).status).toBe(200);
    const thiefAccess = thief.get(ACCESS)!;
    const clock = useFakeDate();
    try {
      clock.advance(11_000);
      expect((await victim.post('/auth/refresh')).status).toBe(401);
      expect((await thief.post('/auth/refresh')).status).toBe(401);
      expect((await request(t.server).get('/me').set('Authorization', `Bearer ${thiefAccess}`)).status).toBe(401);
    } finally {
      clock.restore();
    }
  });

  it('an older secret of the lineage (not just the previous one) is reuse', async () => {
    const { browser } = await signedInBrowser(t);
    const rt1 = browser.get(REFRESH)!;
    expect((await browser.post('/auth/refresh')).status).toBe(200);
    expect((await browser.post('/auth/refresh')).status).toBe(200);
    const replay = new Browser(t);
    replay.cookies.set(REFRESH, { value: rt1, path: '/auth' });
    replay.csrfToken = browser.csrfToken;
    // rt1 is two generations back: no grace applies even inside the window.
    expect((await replay.post('/auth/refresh')).status).toBe(401);
    expect((await browser.send('get', '/me')).status).toBe(401);
  });

  it('the just-rotated token inside the grace window gets a new access token and no new refresh token', async () => {
    const { browser } = await signedInBrowser(t);
    const rt1 = browser.get(REFRESH)!;
    expect((await browser.post('/auth/refresh')).status).toBe(200);
    const rt2 = browser.get(REFRESH)!;
    const tab = new Browser(t);
    tab.cookies.set(REFRESH, { value: rt1, path: '/auth' });
    tab.csrfToken = browser.csrfToken;
    const grace = await tab.post('/auth/refresh');
    expect(grace.status).toBe(200);
    expect(tab.get(ACCESS)).toBeDefined();
    expect(tab.get(REFRESH)).toBe(rt1); // no refresh cookie was set
    expect((await tab.send('get', '/me')).status).toBe(200);
    // The lineage did not fork: rt2 still rotates.
    expect((await browser.post('/auth/refresh')).status).toBe(200);
    expect(browser.get(REFRESH)).not.toBe(rt2);
  });

  it('a refresh token the session never issued is refused without revoking anything', async () => {
    const { browser } = await signedInBrowser(t);
    const [sid] = browser.get(REFRESH)!.split('.');
    const guess = new Browser(t);
    guess.cookies.set(REFRESH, { value: `${sid}.${'A'.repeat(43)}`, path: '/auth' });
    guess.csrfToken = browser.csrfToken;
    const res = await guess.post('/auth/refresh');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
    expect((await browser.post('/auth/refresh')).status).toBe(200);
  });

  it.each([
    ['empty', ''],
    ['malformed', 'not-a-token'],
    ['over 1 KiB', `${'a'.repeat(1100)}`],
    ['unknown session', '00000000-0000-4000-8000-000000000000.' + 'B'.repeat(43)],
  ])('a %s refresh token is 401 and creates no session', async (_label, token) => {
    const before = await t.dataSource.query(`SELECT count(*)::int AS n FROM auth_sessions`);
    const res = await request(t.server).post('/auth/refresh').send({ refreshToken: token });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
    const after = await t.dataSource.query(`SELECT count(*)::int AS n FROM auth_sessions`);
    expect(after[0].n).toBe(before[0].n);
  });

  it('an access token posted to /auth/refresh and a refresh token used as a bearer access token are 401', async () => {
    const { accessToken, refreshToken } = await bearerLogin(t);
    expect((await request(t.server).post('/auth/refresh').send({ refreshToken: accessToken })).status).toBe(401);
    expect((await request(t.server).get('/me').set('Authorization', `Bearer ${refreshToken}`)).status).toBe(401);
  });

  it('only hashes are stored: no column holds the refresh secret', async () => {
    const { refreshToken } = await bearerLogin(t);
    const [sid, secret] = refreshToken.split('.');
    const rows = await t.dataSource.query(`SELECT row_to_json(s)::text AS j, encode(secret_hash, 'base64') AS h FROM auth_sessions s WHERE id = $1`, [sid]);
    expect(rows[0].j).not.toContain(secret);
    expect(Buffer.from(rows[0].h, 'base64')).toHaveLength(32);
    expect(Buffer.from(rows[0].h, 'base64').toString('base64url')).not.toBe(secret);
  });

  it('logout-all ends every session of the user; a fresh login still works', async () => {
    const { browser: a, email } = await signedInBrowser(t);
    const b = new Browser(t, 'second-device');
    expect((await b.post('/auth/login', { email, password: PASSWORD })).status).toBe(200);
    expect((await a.post('/auth/logout-all')).status).toBe(204);
    expect((await a.send('get', '/me')).status).toBe(401);
    const bMe = await b.send('get', '/me');
    expect(bMe.status).toBe(401);
    expect(bMe.body.code).toBe('SESSION_REVOKED');
    expect((await b.post('/auth/refresh')).status).toBe(401);
    const c = new Browser(t);
    expect((await c.post('/auth/login', { email, password: PASSWORD })).status).toBe(200);
    expect((await c.send('get', '/me')).status).toBe(200);
  });

  it('lists live sessions without tokens and revokes one by id; another user\'s id is 404', async () => {
    const { browser: a, email } = await signedInBrowser(t);
    const b = new Browser(t, 'phone');
    await b.post('/auth/login', { email, password: PASSWORD });
    const list = await a.send('get', '/auth/sessions');
    expect(list.status).toBe(200);
    expect(list.headers['cache-control']).toBe('no-store');
    expect(list.body).toHaveLength(2);
    for (const s of list.body) {
      expect(Object.keys(s).sort()).toEqual(['createdAt', 'current', 'device', 'expiresAt', 'id', 'ip', 'lastSeenAt', 'userAgent']);
    }
    const text = JSON.stringify(list.body);
    for (const v of [a.get(ACCESS), a.get(REFRESH)!.split('.')[1], b.get(REFRESH)!.split('.')[1]]) expect(text).not.toContain(v);
    const phone = list.body.find((s: { userAgent: string }) => s.userAgent === 'phone');
    expect(list.body.find((s: { current: boolean }) => s.current).userAgent).toBe('jest-browser');

    const { browser: other } = await signedInBrowser(t);
    const stranger = await other.send('delete', `/auth/sessions/${phone.id}`);
    expect(stranger.status).toBe(404);
    expect(stranger.body.code).toBe('NOT_FOUND');
    expect((await b.send('get', '/me')).status).toBe(200);
    expect((await other.send('delete', '/auth/sessions/not-a-uuid')).status).toBe(404);
    expect((await other.send('delete', "/auth/sessions/1' OR '1'='1")).status).toBe(404);

    expect((await a.send('delete', `/auth/sessions/${phone.id}`)).status).toBe(204);
    expect((await a.send('delete', `/auth/sessions/${phone.id}`)).status).toBe(204);
    expect((await b.send('get', '/me')).status).toBe(401);
    expect((await a.send('get', '/auth/sessions')).body).toHaveLength(1);
  });

  it('roles: admin route for an admin, 403 otherwise; a demotion shows in the next access token', async () => {
    const { browser: user } = await signedInBrowser(t);
    const denied = await user.send('get', '/admin/ping');
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('FORBIDDEN');
    expect((await request(t.server).get('/admin/ping')).status).toBe(401);

    await t.dataSource.query(`DELETE FROM users WHERE email = 'boss@example.test'`);
    const { browser: boss, userId } = await signedInBrowser(t, 'boss@example.test');
    expect((await boss.send('get', '/admin/ping')).status).toBe(200);
    await t.dataSource.query(`UPDATE users SET roles = '{}' WHERE id = $1`, [userId]);
    expect((await boss.post('/auth/refresh')).status).toBe(200);
    expect((await boss.send('get', '/admin/ping')).status).toBe(403);
  });

  it('a user disabled behind the app\'s back (loadUser returns null) loses the session at the next refresh', async () => {
    const { browser, userId } = await signedInBrowser(t);
    const at = browser.get(ACCESS)!;
    const sid = browser.get(REFRESH)!.split('.')[0];
    await t.dataSource.query(`UPDATE users SET disabled_at = now() WHERE id = $1`, [userId]);
    const res = await browser.post('/auth/refresh');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('SESSION_REVOKED');
    // The session itself has ended, not merely the browser's cookies: its access token is refused.
    const me = await request(t.server).get('/me').set('Cookie', `${ACCESS}=${at}`);
    expect([me.status, me.body.code]).toEqual([401, 'SESSION_REVOKED']);
    const [row] = await t.dataSource.query(`SELECT revoke_reason FROM auth_sessions WHERE id = $1`, [sid]);
    expect(row.revoke_reason).toBe('user_disabled');
  });

  it('disabling a user through the app ends their sessions at once: the access tokens are refused before any refresh', async () => {
    await t.dataSource.query(`DELETE FROM users WHERE email = 'boss@example.test'`);
    const { browser: boss } = await signedInBrowser(t, 'boss@example.test');
    const { browser: user, userId } = await signedInBrowser(t);
    const bearer = await bearerLogin(t, uniqueEmail('second-device'));
    const at = user.get(ACCESS)!;
    expect((await request(t.server).get('/me').set('Cookie', `${ACCESS}=${at}`)).status).toBe(200);

    expect((await user.send('post', `/admin/users/${userId}/disable`)).status).toBe(403);
    expect((await boss.send('post', `/admin/users/${userId}/disable`)).status).toBe(204);
    const me = await request(t.server).get('/me').set('Cookie', `${ACCESS}=${at}`);
    expect([me.status, me.body.code]).toEqual([401, 'SESSION_REVOKED']);
    expect((await user.post('/auth/refresh')).status).toBe(401);
    // Others are untouched; unknown or malformed ids are 404.
    expect((await request(t.server).get('/me').set('Authorization', `Bearer ${bearer.accessToken}`)).status).toBe(200);
    expect((await boss.send('post', `/admin/users/00000000-0000-4000-8000-000000000000/disable`)).status).toBe(404);
    expect((await boss.send('post', '/admin/users/not-a-uuid/disable')).status).toBe(404);
  });

  it('case 16: a user deleted behind the app\'s back (loadUser returns null) loses the session at the next refresh', async () => {
    const { browser, userId } = await signedInBrowser(t);
    const at = browser.get(ACCESS)!;
    const sid = browser.get(REFRESH)!.split('.')[0];
    await t.dataSource.query(`DELETE FROM users WHERE id = $1`, [userId]);
    const res = await browser.post('/auth/refresh');
    expect([res.status, res.body.code]).toEqual([401, 'SESSION_REVOKED']);
    expect(browser.get(REFRESH)).toBeUndefined();
    // /whoami reads the token's claims only, so a 401 here is the session's end, not the missing user.
    const whoami = await request(t.server).get('/whoami').set('Cookie', `${ACCESS}=${at}`);
    expect([whoami.status, whoami.body.code]).toEqual([401, 'SESSION_REVOKED']);
    const [row] = await t.dataSource.query(`SELECT revoked_at, revoke_reason FROM auth_sessions WHERE id = $1`, [sid]);
    expect(row.revoked_at).not.toBeNull();
    expect(row.revoke_reason).toBe('user_disabled');
  });

  it('case 16: once the app calls revokeAllForUser for a deleted user, their access tokens are refused at once, before any refresh', async () => {
    const { browser, email, userId } = await signedInBrowser(t);
    const bearer = await request(t.server).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
    expect(bearer.status).toBe(200);
    const asCookie = () => request(t.server).get('/whoami').set('Cookie', `${ACCESS}=${browser.get(ACCESS)}`);
    const asBearer = () => request(t.server).get('/whoami').set('Authorization', `Bearer ${bearer.body.accessToken}`);
    await t.dataSource.query(`DELETE FROM users WHERE id = $1`, [userId]);
    // The documented bound: deleting the user alone reaches no access token until a
    // refresh; these requests also put both sessions in the liveness cache the revocation must clear.
    expect((await asCookie()).status).toBe(200);
    expect((await asBearer()).status).toBe(200);

    await t.app.get(SessionService).revokeAllForUser(userId, 'user_disabled');
    for (const res of [await asCookie(), await asBearer()]) expect([res.status, res.body.code]).toEqual([401, 'SESSION_REVOKED']);
    expect((await browser.post('/auth/refresh')).status).toBe(401);
    expect((await request(t.server).post('/auth/refresh').send({ refreshToken: bearer.body.refreshToken })).status).toBe(401);
    const rows = await t.dataSource.query(`SELECT revoked_at, revoke_reason FROM auth_sessions WHERE user_id = $1`, [userId]);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect([row.revoked_at === null, row.revoke_reason]).toEqual([false, 'user_disabled']);
  });

  it('case 34: an administrator disabling a user ends the session on every device: each access token, each refresh and every row', async () => {
    await t.dataSource.query(`DELETE FROM users WHERE email = 'boss@example.test'`);
    const { browser: boss } = await signedInBrowser(t, 'boss@example.test');
    const { browser: laptop, email, userId } = await signedInBrowser(t);
    const phone = new Browser(t, 'phone');
    expect((await phone.post('/auth/login', { email, password: PASSWORD })).status).toBe(200);
    const cli = await request(t.server).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
    expect(cli.status).toBe(200);
    const devices = [
      () => request(t.server).get('/whoami').set('Cookie', `${ACCESS}=${laptop.get(ACCESS)}`),
      () => request(t.server).get('/whoami').set('Cookie', `${ACCESS}=${phone.get(ACCESS)}`),
      () => request(t.server).get('/whoami').set('Authorization', `Bearer ${cli.body.accessToken}`),
    ];
    const before = await Promise.all(devices.map((device) => device()));
    expect(before.map((res) => res.status)).toEqual([200, 200, 200]);
    expect(new Set(before.map((res) => res.body.sessionId)).size).toBe(3);

    expect((await boss.send('post', `/admin/users/${userId}/disable`)).status).toBe(204);
    for (const device of devices) {
      const res = await device();
      expect([res.status, res.body.code]).toEqual([401, 'SESSION_REVOKED']);
    }
    expect((await laptop.post('/auth/refresh')).status).toBe(401);
    expect((await phone.post('/auth/refresh')).status).toBe(401);
    expect((await request(t.server).post('/auth/refresh').send({ refreshToken: cli.body.refreshToken })).status).toBe(401);
    const rows = await t.dataSource.query(`SELECT id, revoked_at, revoke_reason FROM auth_sessions WHERE user_id = $1`, [userId]);
    expect(rows.map((row: { id: string }) => row.id).sort()).toEqual(before.map((res) => res.body.sessionId).sort());
    for (const row of rows) expect([row.revoked_at === null, row.revoke_reason]).toEqual([false, 'user_disabled']);
    expect((await boss.send('get', '/whoami')).status).toBe(200);
  });

  describe('bearer transport', () => {
    it('login and refresh return tokens in the body; no cookies; refresh takes { refreshToken }', async () => {
      const email = uniqueEmail();
      await request(t.server).post('/auth/register').send({ email, password: PASSWORD });
      const login = await request(t.server).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
      expect(login.status).toBe(200);
      expect(login.headers['set-cookie']).toBeUndefined();
      expect(login.headers['cache-control']).toBe('no-store');
      expect(login.body).toEqual(expect.objectContaining({ accessToken: expect.any(String), refreshToken: expect.any(String), csrfToken: expect.any(String) }));
      const me = await request(t.server).get('/me').set('Authorization', `Bearer ${login.body.accessToken}`);
      expect(me.status).toBe(200);
      // Bearer requests carry no ambient credential, so they need no CSRF token.
      const note = await request(t.server).post('/notes').set('Authorization', `Bearer ${login.body.accessToken}`).send({ text: 'hi' });
      expect(note.status).toBe(201);
      const refreshed = await request(t.server).post('/auth/refresh').send({ refreshToken: login.body.refreshToken });
      expect(refreshed.status).toBe(200);
      expect(refreshed.headers['set-cookie']).toBeUndefined();
      expect(refreshed.body.refreshToken).toEqual(expect.any(String));
      expect(refreshed.body.refreshToken).not.toBe(login.body.refreshToken);
      const logout = await request(t.server).post('/auth/logout').send({ refreshToken: refreshed.body.refreshToken });
      expect(logout.status).toBe(204);
      expect((await request(t.server).get('/me').set('Authorization', `Bearer ${refreshed.body.accessToken}`)).status).toBe(401);
    });

    it('a cookie session never refreshes into body tokens; its HttpOnly secret in a body ends the session', async () => {
      const { browser } = await signedInBrowser(t);
      const res = await request(t.server).post('/auth/refresh').send({ refreshToken: browser.get(REFRESH) });
      expect(res.status).toBe(401);
      expect(res.body.refreshToken).toBeUndefined();
      expect(res.body.accessToken).toBeUndefined();
      expect((await browser.send('get', '/me')).status).toBe(401);
      const [row] = await t.dataSource.query(`SELECT revoke_reason FROM auth_sessions WHERE id = $1`, [browser.get(REFRESH)!.split('.')[0]]);
      expect(row.revoke_reason).toBe('transport_mismatch');
    });

    it('a bearer session never refreshes into cookies', async () => {
      const { refreshToken, accessToken, csrfToken } = await bearerLogin(t);
      const res = await request(t.server).post('/auth/refresh').set('Cookie', `${REFRESH}=${refreshToken}`).set('x-csrf-token', csrfToken);
      expect(res.status).toBe(401);
      expect(setCookies(res).filter((c) => c.value)).toEqual([]);
      expect((await request(t.server).get('/me').set('Authorization', `Bearer ${accessToken}`)).status).toBe(401);
    });
  });
});
