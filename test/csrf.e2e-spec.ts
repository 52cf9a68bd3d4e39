import request from 'supertest';
import { startApp, type TestApp } from './support/app';
import { ACCESS, bearerLogin, Browser, CSRF, PASSWORD, REFRESH, setCookies, signedInBrowser, uniqueEmail } from './support/browser';
import { useFakeDate } from './support/clock';
import { CsrfGuard } from 'nest-sessions';

const APP = 'https://app.example.com';
const TRUSTED = 'https://admin.example.com';

/** docs/security.md cases 39–46 in cookie transport, and bearer requests that need no token. */
describe('CSRF protection', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ APP_ORIGIN: APP, TRUSTED_ORIGINS: TRUSTED });
  });
  afterAll(() => t.close());

  /** Every unsafe cookie-authenticated route of the sample app, refresh and logout included. */
  const unsafeRoutes = (b: Browser): Array<[string, () => Promise<request.Response>]> => [
    ['POST /notes', () => b.send('post', '/notes', { body: { text: 'x' }, csrf: false })],
    ['POST /auth/refresh', () => b.send('post', '/auth/refresh', { csrf: false })],
    ['POST /auth/logout', () => b.send('post', '/auth/logout', { csrf: false })],
    ['POST /auth/logout-all', () => b.send('post', '/auth/logout-all', { csrf: false })],
    ['DELETE /auth/sessions/:id', () => b.send('delete', `/auth/sessions/${b.get(REFRESH)!.split('.')[0]}`, { csrf: false })],
  ];

  const expectRejected = (res: request.Response) => {
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ statusCode: 403, code: 'CSRF_REJECTED', message: expect.any(String) });
  };

  it('a request is checked once, though the app binds CsrfGuard globally and the refresh route binds it too', async () => {
    const { browser } = await signedInBrowser(t);
    const checks = jest.spyOn(CsrfGuard.prototype, 'isAllowedOrigin');
    try {
      expect((await browser.post('/auth/refresh')).status).toBe(200);
      expect(checks).toHaveBeenCalledTimes(1);
      checks.mockClear();
      expect((await browser.post('/notes', { text: 'checked once' })).status).toBe(201);
      expect(checks).toHaveBeenCalledTimes(1);
      // A refused request is refused by the first check, and the next request is checked afresh.
      checks.mockClear();
      expect((await browser.send('post', '/auth/refresh', { csrf: false })).status).toBe(403);
      expect((await browser.post('/auth/refresh')).status).toBe(200);
      expect(checks).toHaveBeenCalledTimes(2);
    } finally {
      checks.mockRestore();
    }
  });

  it('case 39: no x-csrf-token header → 403 on every unsafe route, and nothing changed', async () => {
    const { browser } = await signedInBrowser(t);
    const rt = browser.get(REFRESH);
    for (const [, send] of unsafeRoutes(browser)) expectRejected(await send());
    expect(browser.get(REFRESH)).toBe(rt);
    expect((await browser.send('get', '/me')).status).toBe(200);
    expect((await browser.send('get', '/notes')).body).toEqual([]);
  });

  it('the token from the cookie alone (no header), a tampered token, junk → 403', async () => {
    const { browser } = await signedInBrowser(t);
    const token = browser.csrfToken!;
    expect(browser.get(CSRF)).toBe(token); // it is in the cookie, which a cross-site form cannot copy into a header
    expectRejected(await browser.send('post', '/notes', { body: { text: 'x' }, csrf: false }));
    const [nonce, tag] = token.split('.');
    const tampered = `${nonce}.${tag[0] === 'A' ? 'B' : 'A'}${tag.slice(1)}`;
    for (const bad of [tampered, `${nonce.slice(1)}A.${tag}`, 'junk', '', `${token}x`]) {
      expectRejected(await browser.send('post', '/notes', { body: { text: 'x' }, headers: { 'x-csrf-token': bad }, csrf: false }));
    }
    expect((await browser.send('post', '/notes', { body: { text: 'ok' } })).status).toBe(201);
  });

  it('case 40: a token minted for another session → 403; the token keeps working across refreshes', async () => {
    const { browser: alice } = await signedInBrowser(t);
    const { browser: mallory } = await signedInBrowser(t);
    const res = await alice.send('post', '/notes', { body: { text: 'x' }, headers: { 'x-csrf-token': mallory.csrfToken! }, csrf: false });
    expectRejected(res);
    const original = alice.csrfToken!;
    expect((await alice.post('/auth/refresh')).status).toBe(200);
    expect(alice.csrfToken).not.toBe(original);
    expect((await alice.send('post', '/notes', { body: { text: 'old token' }, headers: { 'x-csrf-token': original }, csrf: false })).status).toBe(201);
    expect((await alice.send('post', '/notes', { body: { text: 'new token' } })).status).toBe(201);
  });

  it('GET /auth/csrf returns a token bound to the session', async () => {
    const { browser } = await signedInBrowser(t);
    const res = await browser.send('get', '/auth/csrf');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect((await browser.send('post', '/notes', { body: { text: 'x' }, headers: { 'x-csrf-token': res.body.csrfToken }, csrf: false })).status).toBe(201);
    expect((await request(t.server).get('/auth/csrf')).status).toBe(401);
  });

  it('refresh and logout check the token against the refresh cookie\'s session when the access token has expired', async () => {
    const clock = useFakeDate();
    try {
      const { browser } = await signedInBrowser(t);
      clock.advance(11 * 60_000);
      expect((await browser.send('get', '/me')).body.code).toBe('ACCESS_TOKEN_EXPIRED');
      expect((await browser.post('/auth/refresh')).status).toBe(200);
      clock.advance(11 * 60_000);
      const { browser: other } = await signedInBrowser(t);
      expectRejected(await browser.send('post', '/auth/logout', { headers: { 'x-csrf-token': other.csrfToken! }, csrf: false }));
      expect((await browser.post('/auth/logout')).status).toBe(204);
    } finally {
      clock.restore();
    }
  });

  it('case 41: Sec-Fetch-Site cross-site → 403 even with a valid token; same-site only from an allow-listed origin', async () => {
    const { browser } = await signedInBrowser(t);
    const post = (headers: Record<string, string>) => browser.send('post', '/notes', { body: { text: 'x' }, headers });
    expectRejected(await post({ 'Sec-Fetch-Site': 'cross-site' }));
    expectRejected(await post({ 'Sec-Fetch-Site': 'cross-site', Origin: APP }));
    expectRejected(await post({ 'Sec-Fetch-Site': 'same-site', Origin: 'https://blog.example.com' }));
    expectRejected(await post({ 'Sec-Fetch-Site': 'same-site' }));
    expect((await post({ 'Sec-Fetch-Site': 'same-site', Origin: TRUSTED })).status).toBe(201);
    expect((await post({ 'Sec-Fetch-Site': 'same-origin', Origin: APP })).status).toBe(201);
  });

  it.each([
    ['null', { Origin: 'null' }],
    ['a look-alike host', { Origin: 'https://app.example.com.evil.test' }],
    ['a look-alike prefix', { Origin: 'https://evilapp.example.com' }],
    ['another scheme', { Origin: 'http://app.example.com' }],
    ['another port', { Origin: 'https://app.example.com:8443' }],
    ['a Referer from elsewhere', { Referer: 'https://evil.test/page' }],
    ['a malformed Referer', { Referer: 'not a url' }],
  ])('case 42: without Fetch Metadata, Origin %s → 403 even with a valid token', async (_label, headers) => {
    const { browser } = await signedInBrowser(t);
    expectRejected(await browser.send('post', '/notes', { body: { text: 'x' }, headers }));
  });

  it('case 42: our own origin, an allow-listed one, or no Origin/Referer at all (curl) passes with the token', async () => {
    const { browser } = await signedInBrowser(t);
    const variants: Array<Record<string, string>> = [{ Origin: APP }, { Origin: TRUSTED }, { Referer: `${APP}/notes` }, {}];
    for (const headers of variants) {
      expect((await browser.send('post', '/notes', { body: { text: 'x' }, headers })).status).toBe(201);
    }
  });

  it.each([
    ['text/plain', 'text/plain', '{"text":"x"}'],
    ['a form', 'application/x-www-form-urlencoded', 'text=x'],
    ['multipart', 'multipart/form-data; boundary=XYZ', '--XYZ\r\nContent-Disposition: form-data; name="text"\r\n\r\nx\r\n--XYZ--\r\n'],
  ])('case 43: %s body → 415', async (_label, type, body) => {
    const { browser } = await signedInBrowser(t);
    const res = await request(t.server)
      .post('/notes')
      .set('Cookie', browser.cookieHeader('/notes'))
      .set('x-csrf-token', browser.csrfToken!)
      .set('Content-Type', type)
      .send(body);
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect((await browser.send('get', '/notes')).body).toEqual([]);
  });

  it('case 45: cross-site login and register are refused (login CSRF)', async () => {
    const email = uniqueEmail();
    await request(t.server).post('/auth/register').send({ email, password: PASSWORD });
    for (const headers of [{ 'Sec-Fetch-Site': 'cross-site' }, { Origin: 'https://evil.test' }, { Origin: 'null' }]) {
      const login = await request(t.server).post('/auth/login').set(headers).send({ email, password: PASSWORD });
      expectRejected(login);
      expect(login.headers['set-cookie']).toBeUndefined();
      expectRejected(await request(t.server).post('/auth/register').set(headers).send({ email: uniqueEmail(), password: PASSWORD }));
    }
    expect((await request(t.server).post('/auth/login').set('Origin', APP).send({ email, password: PASSWORD })).status).toBe(200);
  });

  it('case 45: a login or register asking for the bearer transport is not login CSRF: another site may start it, and it sets no cookie', async () => {
    const email = uniqueEmail();
    const bearer = { 'Sec-Fetch-Site': 'cross-site', Origin: 'https://front-end.example', 'X-Session-Transport': 'bearer' };
    expect((await request(t.server).post('/auth/register').set(bearer).send({ email, password: PASSWORD })).status).toBe(201);
    const login = await request(t.server).post('/auth/login').set(bearer).send({ email, password: PASSWORD });
    expect(login.status).toBe(200);
    expect(login.headers['set-cookie']).toBeUndefined();
    expect(typeof login.body.accessToken).toBe('string');
    // The same login without the header is a cookie login, and refused.
    expectRejected(await request(t.server).post('/auth/login').set({ 'Sec-Fetch-Site': 'cross-site' }).send({ email, password: PASSWORD }));
  });

  it('case 46: CORS pre-flight from an origin outside the list gets no Access-Control-Allow-Origin and no credentials', async () => {
    const evil = await request(t.server).options('/notes').set('Origin', 'https://evil.test').set('Access-Control-Request-Method', 'POST');
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
    expect(evil.headers['access-control-allow-credentials']).toBeUndefined();
    const lookAlike = await request(t.server).options('/notes').set('Origin', `${TRUSTED}.evil.test`).set('Access-Control-Request-Method', 'POST');
    expect(lookAlike.headers['access-control-allow-origin']).toBeUndefined();
    const good = await request(t.server)
      .options('/notes')
      .set('Origin', TRUSTED)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type, x-csrf-token');
    expect(good.headers['access-control-allow-origin']).toBe(TRUSTED);
    expect(good.headers['access-control-allow-credentials']).toBe('true');
    const simple = await request(t.server).get('/health').set('Origin', 'https://evil.test');
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('bearer requests pass without a token, even with a cross-site Origin (they carry no ambient credential)', async () => {
    const { accessToken, refreshToken } = await bearerLogin(t);
    const note = await request(t.server).post('/notes').set('Authorization', `Bearer ${accessToken}`).set('Origin', 'https://evil.test').send({ text: 'x' });
    expect(note.status).toBe(201);
    const refreshed = await request(t.server).post('/auth/refresh').send({ refreshToken });
    expect(refreshed.status).toBe(200);
    expect((await request(t.server).post('/auth/logout').send({ refreshToken: refreshed.body.refreshToken })).status).toBe(204);
  });

  it('a request with an access cookie and no token is refused even if it also sends a bearer header', async () => {
    const { browser } = await signedInBrowser(t);
    const res = await request(t.server)
      .post('/notes')
      .set('Cookie', `${ACCESS}=${browser.get(ACCESS)}`)
      .set('Authorization', `Bearer ${browser.get(ACCESS)}`)
      .send({ text: 'x' });
    expectRejected(res);
  });

  describe('regressions from the security review', () => {
    it('a planted refresh cookie of another session cannot make that session\'s CSRF token count', async () => {
      const { browser: victim } = await signedInBrowser(t);
      const { browser: attacker } = await signedInBrowser(t);
      const res = await request(t.server)
        .post('/notes')
        .set('Cookie', `${ACCESS}=${victim.get(ACCESS)}; ${REFRESH}=${attacker.get(REFRESH)!.split('.')[0]}.${'A'.repeat(43)}`)
        .set('x-csrf-token', attacker.csrfToken!)
        .send({ text: 'planted' });
      expectRejected(res);
      expect((await victim.send('get', '/notes')).body).toEqual([]);
    });

    it('a cross-site logout is refused even without cookies, and clears nothing', async () => {
      const res = await request(t.server).post('/auth/logout').set('Sec-Fetch-Site', 'cross-site').set('Origin', 'https://evil.test');
      expectRejected(res);
      expect(res.headers['clear-site-data']).toBeUndefined();
      expect(res.headers['set-cookie']).toBeUndefined();
      const foreign = await request(t.server).post('/auth/logout').set('Origin', 'https://evil.test');
      expectRejected(foreign);
    });

    it('a bearer client\'s logout from another site (its refresh token in the body, no cookie) ends its session and touches no cookie', async () => {
      const { refreshToken } = await bearerLogin(t);
      const res = await request(t.server).post('/auth/logout').set('Sec-Fetch-Site', 'cross-site').set('Origin', 'https://front-end.example').send({ refreshToken });
      expect(res.status).toBe(204);
      expect(res.headers['clear-site-data']).toBeUndefined();
      expect(res.headers['set-cookie']).toBeUndefined();
      expect((await request(t.server).post('/auth/refresh').send({ refreshToken })).status).toBe(401);
    });

    it('a logout that proves no session clears our cookies but sends no Clear-Site-Data', async () => {
      const res = await request(t.server).post('/auth/logout');
      expect(res.status).toBe(204);
      expect(res.headers['clear-site-data']).toBeUndefined();
    });

    it('planted conflicting access and refresh cookies cannot stop a logout: cookies cleared, nothing revoked', async () => {
      const { browser } = await signedInBrowser(t);
      const [at, rt] = [browser.get(ACCESS)!, browser.get(REFRESH)!];
      // A sibling subdomain can set look-alikes (no __Host- prefix) beside the real cookies.
      const res = await request(t.server)
        .post('/auth/logout')
        .set('Cookie', `${ACCESS}=${at}; ns-at=planted; ${REFRESH}=${rt}; ns-rt=planted`)
        .set('Sec-Fetch-Site', 'same-origin');
      expect(res.status).toBe(204);
      const cleared = setCookies(res).filter((c) => c.attributes['max-age'] === '0').map((c) => c.name);
      expect(cleared.sort()).toEqual([ACCESS, CSRF, REFRESH].sort());
      expect(res.headers['clear-site-data']).toBeUndefined(); // nothing proven, so nothing site-wide
      expect((await request(t.server).get('/me').set('Cookie', `${ACCESS}=${at}`)).status).toBe(200);
    });

    it('a planted duplicate refresh cookie cannot stop a user from logging out', async () => {
      const { browser } = await signedInBrowser(t);
      const at = browser.get(ACCESS)!;
      const res = await request(t.server)
        .post('/auth/logout')
        .set('Cookie', `${ACCESS}=${at}; ${REFRESH}=${browser.get(REFRESH)}; ${REFRESH}=junk`)
        .set('x-csrf-token', browser.csrfToken!);
      expect(res.status).toBe(204);
      expect(res.headers['clear-site-data']).toBe('"cookies"');
      expect((await request(t.server).get('/me').set('Cookie', `${ACCESS}=${at}`)).status).toBe(401);
      // Other routes still refuse the duplicate outright.
      const refresh = await request(t.server)
        .post('/auth/refresh')
        .set('Cookie', `${REFRESH}=${browser.get(REFRESH)}; ${REFRESH}=junk`)
        .set('x-csrf-token', browser.csrfToken!);
      expect(refresh.status).toBe(401);
    });


  });
});
