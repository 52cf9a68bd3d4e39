import request from 'supertest';
import { startApp, type TestApp } from './support/app';
import { ACCESS, Browser, CSRF, PASSWORD, REFRESH, setCookies, signedInBrowser, uniqueEmail } from './support/browser';

/** docs/security.md cases 25, 30, 33, 36, 37, 38. */
describe('cookies', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('case 36: Secure, HttpOnly (not the CSRF cookie), explicit SameSite, __Host-/__Secure- prefixes, each under 4096 bytes', async () => {
    const email = uniqueEmail();
    await request(t.server).post('/auth/register').send({ email, password: PASSWORD });
    const res = await request(t.server).post('/auth/login').send({ email, password: PASSWORD });
    const cookies = Object.fromEntries(setCookies(res).map((c) => [c.name, c]));
    expect(Object.keys(cookies).sort()).toEqual([ACCESS, CSRF, REFRESH].sort());
    expect(cookies[ACCESS].attributes).toMatchObject({ path: '/', samesite: 'Lax', httponly: true, secure: true });
    expect(cookies[REFRESH].attributes).toMatchObject({ path: '/auth', samesite: 'Strict', httponly: true, secure: true });
    expect(cookies[CSRF].attributes).toMatchObject({ path: '/', samesite: 'Strict', secure: true });
    expect(cookies[CSRF].attributes.httponly).toBeUndefined();
    for (const c of Object.values(cookies)) {
      expect(c.attributes.domain).toBeUndefined(); // __Host- requires no Domain
      expect(`${c.name}=${c.value}`.length).toBeLessThan(4096);
    }
  });

  it('case 38: token responses carry Cache-Control: no-store and, in cookie transport, no token in the body', async () => {
    const { browser } = await signedInBrowser(t);
    const refresh = await browser.post('/auth/refresh');
    expect(refresh.headers['cache-control']).toBe('no-store');
    const body = JSON.stringify(refresh.body);
    expect(body).not.toContain(browser.get(ACCESS)!);
    expect(body).not.toContain(browser.get(REFRESH)!.split('.')[1]);
    const login = await new Browser(t).post('/auth/login', { email: uniqueEmail('x'), password: PASSWORD });
    expect(login.status).toBe(401);
    // A cookie login carries tokens in Set-Cookie: it must not be stored either.
    const { email } = await signedInBrowser(t);
    const cookieLogin = await new Browser(t).post('/auth/login', { email, password: PASSWORD });
    expect(cookieLogin.status).toBe(200);
    expect(setCookies(cookieLogin)).toHaveLength(3);
    expect(cookieLogin.headers['cache-control']).toBe('no-store');
    expect(cookieLogin.headers.pragma).toBe('no-cache');
  });

  it('case 25: refreshing never extends the session past its absolute lifetime; Max-Age never exceeds what is left', async () => {
    const local = await startApp({ SESSION_ABSOLUTE_TIMEOUT: '30d', SESSION_IDLE_TIMEOUT: '24h', ACCESS_TOKEN_TTL: '10m' });
    try {
      const { browser } = await signedInBrowser(local);
      const sid = browser.get(REFRESH)!.split('.')[0];
      // Pretend the session started long ago: 60 s of its absolute lifetime remain.
      const end = new Date(Date.now() + 60_000);
      await local.dataSource.query(`UPDATE auth_sessions SET absolute_expires_at = $2 WHERE id = $1`, [sid, end]);
      const res = await browser.post('/auth/refresh');
      expect(res.status).toBe(200);
      expect(setCookies(res).map((c) => c.name).sort()).toEqual([ACCESS, CSRF, REFRESH].sort());
      for (const c of setCookies(res)) expect(Number(c.attributes['max-age'])).toBeLessThanOrEqual(60);
      expect(new Date(res.body.accessTokenExpiresAt).getTime()).toBeLessThanOrEqual(end.getTime());
      const [row] = await local.dataSource.query(`SELECT expires_at FROM auth_sessions WHERE id = $1`, [sid]);
      expect(new Date(row.expires_at).getTime()).toBeLessThanOrEqual(end.getTime());
    } finally {
      await local.close();
    }
  });

  it('case 30: login always creates a new session; a planted refresh or access cookie is not adopted', async () => {
    const { browser: victim, email } = await signedInBrowser(t);
    const { browser: attacker } = await signedInBrowser(t);
    const planted = new Browser(t);
    planted.cookies.set(REFRESH, { value: attacker.get(REFRESH)!, path: '/auth' });
    planted.cookies.set(ACCESS, { value: attacker.get(ACCESS)!, path: '/' });
    const login = await planted.post('/auth/login', { email, password: PASSWORD });
    expect(login.status).toBe(200);
    expect(planted.get(REFRESH)!.split('.')[0]).not.toBe(attacker.get(REFRESH)!.split('.')[0]);
    expect(planted.get(REFRESH)!.split('.')[0]).not.toBe(victim.get(REFRESH)!.split('.')[0]);
    const me = await planted.send('get', '/me');
    expect(me.body.email).toBe(email);
  });

  it('case 33: logout clears every auth cookie (same name and path, Max-Age=0) and sends Clear-Site-Data', async () => {
    const { browser } = await signedInBrowser(t);
    const at = browser.get(ACCESS)!;
    const rt = browser.get(REFRESH)!;
    const res = await browser.post('/auth/logout');
    expect(res.status).toBe(204);
    expect(res.headers['clear-site-data']).toBe('"cookies"');
    const cleared = Object.fromEntries(setCookies(res).map((c) => [c.name, c]));
    expect(cleared[ACCESS]).toMatchObject({ value: '', attributes: { 'max-age': '0', path: '/' } });
    expect(cleared[CSRF]).toMatchObject({ value: '', attributes: { 'max-age': '0', path: '/' } });
    expect(cleared[REFRESH]).toMatchObject({ value: '', attributes: { 'max-age': '0', path: '/auth' } });
    expect((await request(t.server).get('/me').set('Cookie', `${ACCESS}=${at}`)).status).toBe(401);
    const again = await request(t.server).post('/auth/refresh').send({ refreshToken: rt });
    expect(again.status).toBe(401);
  });

  it('logout with only an expired-but-genuine access token still ends the session; with nothing it just clears', async () => {
    const { browser } = await signedInBrowser(t);
    const rt = browser.get(REFRESH)!;
    const onlyAccess = new Browser(t);
    onlyAccess.cookies.set(ACCESS, { value: browser.get(ACCESS)!, path: '/' });
    onlyAccess.csrfToken = browser.csrfToken;
    expect((await onlyAccess.post('/auth/logout')).status).toBe(204);
    const refresh = new Browser(t);
    refresh.cookies.set(REFRESH, { value: rt, path: '/auth' });
    refresh.csrfToken = browser.csrfToken;
    expect((await refresh.post('/auth/refresh')).status).toBe(401);
    const nothing = await request(t.server).post('/auth/logout');
    expect(nothing.status).toBe(204);
    expect(setCookies(nothing).map((c) => c.name).sort()).toEqual([ACCESS, CSRF, REFRESH].sort());
    expect(setCookies(nothing).every((c) => c.attributes['max-age'] === '0')).toBe(true);
  });

  it('Clear-Site-Data can be turned off', async () => {
    const local = await startApp({ CLEAR_SITE_DATA: 'false' });
    try {
      const { browser } = await signedInBrowser(local);
      const res = await browser.post('/auth/logout');
      expect(res.status).toBe(204);
      expect(res.headers['clear-site-data']).toBeUndefined();
    } finally {
      await local.close();
    }
  });

  describe('case 37: duplicate, look-alike and conflicting credentials are 401', () => {
    it('two access cookies of the same name', async () => {
      const { browser: a } = await signedInBrowser(t);
      const { browser: b } = await signedInBrowser(t);
      const res = await request(t.server).get('/me').set('Cookie', `${ACCESS}=${a.get(ACCESS)}; ${ACCESS}=${b.get(ACCESS)}`);
      expect(res.status).toBe(401);
    });

    it.each(['ns-at', '__host-ns-at', '__Secure-ns-at', '__HOST-NS-AT'])('a look-alike %s beside the real one', async (name) => {
      const { browser } = await signedInBrowser(t);
      const at = browser.get(ACCESS)!;
      expect((await request(t.server).get('/me').set('Cookie', `${ACCESS}=${at}`)).status).toBe(200);
      expect((await request(t.server).get('/me').set('Cookie', `${name}=${at}; ${ACCESS}=${at}`)).status).toBe(401);
      expect((await request(t.server).get('/me').set('Cookie', `${name}=${at}`)).status).toBe(401);
    });

    it('a bearer header and an access cookie carrying different tokens', async () => {
      const { browser: a } = await signedInBrowser(t);
      const { browser: b } = await signedInBrowser(t);
      const res = await request(t.server).get('/me').set('Cookie', `${ACCESS}=${a.get(ACCESS)}`).set('Authorization', `Bearer ${b.get(ACCESS)}`);
      expect(res.status).toBe(401);
    });

    it('two refresh cookies, or a refresh cookie and a body token', async () => {
      const { browser: a } = await signedInBrowser(t);
      const { browser: b } = await signedInBrowser(t);
      const two = await request(t.server)
        .post('/auth/refresh')
        .set('Cookie', `${REFRESH}=${a.get(REFRESH)}; ${REFRESH}=${b.get(REFRESH)}`)
        .set('x-csrf-token', a.csrfToken!);
      expect(two.status).toBe(401);
      const mixed = await request(t.server)
        .post('/auth/refresh')
        .set('Cookie', `${REFRESH}=${a.get(REFRESH)}`)
        .set('x-csrf-token', a.csrfToken!)
        .send({ refreshToken: b.get(REFRESH) });
      expect(mixed.status).toBe(401);
      // Neither session was harmed by the refused attempts.
      expect((await a.post('/auth/refresh')).status).toBe(200);
      expect((await b.post('/auth/refresh')).status).toBe(200);
    });
  });
});
