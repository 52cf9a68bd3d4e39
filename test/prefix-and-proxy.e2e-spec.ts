import request from 'supertest';
import { ADAPTERS, startBareApp } from './support/bare-app';
import { Browser, setCookies } from './support/browser';
import { startApp, type TestApp } from './support/app';
import { PASSWORD, uniqueEmail } from './support/browser';

const REFRESH = '__Secure-ns-rt';

/** Global prefixes and TLS-terminating proxies, on both adapters. */
describe.each(ADAPTERS)('deployments on %s', (adapter) => {
  describe('a global prefix', () => {
    it('the refresh cookie\'s Path is the refresh route\'s real path, so a browser sends it and the session lives on', async () => {
      const t = await startBareApp({ adapter, globalPrefix: 'api' });
      try {
        const browser = new Browser(t as unknown as TestApp);
        const login = await browser.post('/api/login', { id: 'prefixed' });
        expect(login.status).toBe(200);
        expect(setCookies(login).find((c) => c.name === REFRESH)?.attributes.path).toBe('/api/auth');
        // The browser sends cookies by path: only a cookie scoped to /api/auth reaches refresh.
        const refreshed = await browser.post('/api/auth/refresh');
        expect(refreshed.status).toBe(200);
        expect(setCookies(refreshed).find((c) => c.name === REFRESH)?.attributes.path).toBe('/api/auth');
        const logout = await browser.post('/api/auth/logout');
        expect(logout.status).toBe(204);
        expect(setCookies(logout).find((c) => c.name === REFRESH)?.attributes).toMatchObject({ path: '/api/auth', 'max-age': '0' });
      } finally {
        await t.close();
      }
    });

    it('a configured refresh path that the refresh route would never receive stops the start, saying what to set', async () => {
      await expect(startBareApp({ adapter, globalPrefix: 'api', session: { cookies: { refreshPath: '/auth' } } })).rejects.toThrow(
        'cookies.refreshPath "/auth" is never sent to the refresh route /api/auth/refresh (the global prefix included); set it to "/api/auth" or leave it out',
      );
    });

    it('a configured parent path that reaches the refresh route is kept', async () => {
      const t = await startBareApp({ adapter, globalPrefix: 'api', session: { cookies: { refreshPath: '/api' } } });
      try {
        const login = await request(t.server).post('/api/login').send({ id: 'parent-path' });
        expect(setCookies(login).find((c) => c.name === REFRESH)?.attributes.path).toBe('/api');
      } finally {
        await t.close();
      }
    });
  });

  describe.each([false, true])('behind a TLS-terminating proxy (trust proxy: %s)', (trustProxy) => {
    let t: Awaited<ReturnType<typeof startBareApp>>;
    let browser: Browser;
    beforeAll(async () => {
      t = await startBareApp({ adapter, trustProxy });
      browser = new Browser(t as unknown as TestApp);
      await browser.post('/login', { id: `proxied-${adapter}-${trustProxy}` });
    });
    afterAll(() => t.close());

    // What a browser on https://app.example.com sends through the proxy, which forwards plain http.
    const proxied = (headers: Record<string, string>) => ({ Host: 'app.example.com', 'X-Forwarded-Proto': 'https', ...headers });

    it('a same-origin browser POST (Sec-Fetch-Site: same-origin, Origin: https://host) is accepted', async () => {
      const res = await browser.send('post', '/notes', { headers: proxied({ 'Sec-Fetch-Site': 'same-origin', Origin: 'https://app.example.com' }) });
      expect(res.status).toBe(201);
    });

    it('an older browser without Fetch Metadata, Origin https://host, is accepted', async () => {
      const res = await browser.send('post', '/notes', { headers: proxied({ Origin: 'https://app.example.com' }) });
      expect(res.status).toBe(201);
    });

    it('refresh works through the proxy', async () => {
      const refreshed = await browser.send('post', '/auth/refresh', { headers: proxied({ 'Sec-Fetch-Site': 'same-origin', Origin: 'https://app.example.com' }) });
      expect(refreshed.status).toBe(200);
    });

    it.each([
      ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site', Origin: 'https://evil.example' }],
      ['another origin', { Origin: 'https://evil.example' }],
      ['a sibling subdomain (same-site)', { 'Sec-Fetch-Site': 'same-site', Origin: 'https://other.example.com' }],
    ])('a cross-site request is still refused: %s', async (_label, headers) => {
      const res = await browser.send('post', '/notes', { headers: proxied(headers) });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('CSRF_REJECTED');
    });

    it(`a proxy that rewrites Host to its upstream (nginx's default) is ${trustProxy ? 'read through X-Forwarded-Host' : 'refused without trust proxy'}`, async () => {
      const res = await browser.send('post', '/notes', {
        headers: { Host: 'upstream:3000', 'X-Forwarded-Host': 'app.example.com', 'X-Forwarded-Proto': 'https', Origin: 'https://app.example.com' },
      });
      expect([res.status, res.body.code]).toEqual(trustProxy ? [201, undefined] : [403, 'CSRF_REJECTED']);
    });

    if (trustProxy) {
      it('a trusted proxy says https: a plain-http origin of the same host is not the app\'s own', async () => {
        const res = await browser.send('post', '/notes', { headers: proxied({ Origin: 'http://app.example.com' }) });
        expect(res.status).toBe(403);
      });
    }
  });
});

describe('the sample app under GLOBAL_PREFIX and TRUST_PROXY', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ GLOBAL_PREFIX: 'api', TRUST_PROXY: 'loopback' });
  });
  afterAll(() => t.close());

  it('register, login, refresh, notes and logout all under /api, through a TLS proxy', async () => {
    const browser = new Browser(t);
    const headers = {
      Host: 'app.example.com',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-For': '203.0.113.7',
      Origin: 'https://app.example.com',
      'Sec-Fetch-Site': 'same-origin',
    };
    const email = uniqueEmail();
    expect((await browser.send('post', '/api/auth/register', { body: { email, password: PASSWORD }, headers })).status).toBe(201);
    const login = await browser.send('post', '/api/auth/login', { body: { email, password: PASSWORD }, headers });
    expect(login.status).toBe(200);
    expect(setCookies(login).find((c) => c.name === REFRESH)?.attributes.path).toBe('/api/auth');
    expect((await browser.send('post', '/api/auth/refresh', { headers })).status).toBe(200);
    expect((await browser.send('post', '/api/notes', { body: { text: 'behind a proxy' }, headers })).status).toBe(201);
    const sessions = await browser.send('get', '/api/auth/sessions', { headers });
    // TRUST_PROXY=loopback: the session list shows the client's address, not the proxy's.
    expect(sessions.body[0].ip).toBe('203.0.113.7');
    expect((await browser.send('post', '/api/auth/logout', { headers })).status).toBe(204);
  });
});
