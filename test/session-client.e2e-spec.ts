import { createSessionClient } from '../libs/session/client/session-client.mjs';

/** A fake app: data routes answer ACCESS_TOKEN_EXPIRED until a refresh has happened. */
function fakeApp(options: { revoked?: boolean } = {}) {
  const calls: Array<{ path: string; method: string; csrf: string | null }> = [];
  let refreshes = 0;
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const fetch = async (url: string | URL | Request, init: RequestInit = {}) => {
    const path = String(url);
    const headers = new Headers(init.headers);
    calls.push({ path, method: init.method ?? 'GET', csrf: headers.get('x-csrf-token') });
    // The answer is decided when the request arrives (the cookie it carries), then it travels.
    const expired = refreshes === 0;
    await new Promise((r) => setTimeout(r, path.includes('slow') ? 40 : 5));
    if (path.endsWith('/auth/refresh')) {
      refreshes += 1;
      return json(200, { csrfToken: `csrf-${refreshes}`, accessTokenExpiresAt: new Date(Date.now() + 600_000).toISOString() });
    }
    if (options.revoked) return json(401, { statusCode: 401, code: 'SESSION_REVOKED', message: 'ended' });
    return expired ? json(401, { statusCode: 401, code: 'ACCESS_TOKEN_EXPIRED', message: 'expired' }) : json(200, { ok: true });
  };
  return { fetch: fetch as typeof globalThis.fetch, calls, refreshes: () => refreshes };
}

/** The browser client's behaviour, in Node (no Web Locks: the in-tab single flight). */
describe('nest-sessions/client', () => {
  it('twenty concurrent calls that meet ACCESS_TOKEN_EXPIRED cause exactly one refresh, then all succeed', async () => {
    const app = fakeApp();
    const client = createSessionClient({ baseUrl: '/api', fetch: app.fetch });
    const results = await Promise.all(Array.from({ length: 20 }, () => client.fetch('/notes')));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(app.refreshes()).toBe(1);
    expect(client.refreshCount).toBe(1);
    expect(app.calls.filter((c) => c.path === '/api/auth/refresh')).toHaveLength(1);
  });

  it('a request sent with the old cookie whose 401 arrives after the refresh retries without refreshing again', async () => {
    const app = fakeApp();
    const client = createSessionClient({ fetch: app.fetch });
    const [fast, slow] = await Promise.all([client.fetch('/notes'), client.fetch('/notes?slow')]);
    expect([fast.status, slow.status]).toEqual([200, 200]);
    expect(app.refreshes()).toBe(1);
  });

  it('sends the CSRF token of the last login or refresh on unsafe requests, never on GET', async () => {
    const app = fakeApp();
    const client = createSessionClient({ fetch: app.fetch });
    client.adopt({ csrfToken: 'from-login', accessTokenExpiresAt: new Date(Date.now() + 600_000).toISOString() });
    await client.fetch('/auth/refresh', { method: 'POST' });
    await client.fetch('/notes', { method: 'POST', body: '{}' });
    await client.fetch('/notes');
    expect(app.calls.map((c) => [c.method, c.csrf])).toEqual([
      ['POST', 'from-login'],
      ['POST', 'csrf-1'],
      ['GET', null],
    ]);
  });

  it('refreshes ahead of accessTokenExpiresAt (in the token\'s last quarter) instead of waiting for a 401', async () => {
    const app = fakeApp();
    const client = createSessionClient({ fetch: app.fetch, refreshAheadMs: 30_000 });
    client.adopt({ csrfToken: 'c', accessTokenExpiresAt: new Date(Date.now() + 400).toISOString() });
    await new Promise((r) => setTimeout(r, 320));
    const res = await client.fetch('/notes');
    expect(res.status).toBe(200);
    expect(app.calls.map((c) => c.path)).toEqual(['/auth/refresh', '/notes']);
  });

  it('a clock 15 minutes ahead of the server neither refreshes before every request nor trusts the raw expiry', async () => {
    const app = fakeApp();
    const realNow = Date.now;
    Date.now = () => realNow() + 15 * 60_000;
    try {
      const client = createSessionClient({ fetch: app.fetch });
      // A login answered by the server: its Date header and a 10-minute token, both on its clock.
      const login = async () =>
        new Response(JSON.stringify({ csrfToken: 'c', accessTokenExpiresAt: new Date(realNow() + 600_000).toISOString() }), {
          status: 200,
          headers: { 'content-type': 'application/json', date: new Date(realNow()).toUTCString() },
        });
      const skewed = createSessionClient({ fetch: (async (url: string, init?: RequestInit) => (String(url).endsWith('/auth/login') ? login() : app.fetch(url, init))) as typeof fetch });
      await skewed.fetch('/auth/login', { method: 'POST' });
      expect(skewed.accessTokenExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 590_000);
      void client;
    } finally {
      Date.now = realNow;
    }
  });

  it('prefers the readable CSRF cookie (the current session\'s) over a remembered token', async () => {
    const app = fakeApp();
    const holder = globalThis as unknown as { document?: { cookie: string } };
    holder.document = { cookie: 'other=1; __Host-ns-csrf=from-cookie' };
    try {
      const client = createSessionClient({ fetch: app.fetch });
      client.adopt({ csrfToken: 'remembered' });
      await client.fetch('/notes', { method: 'POST' });
      expect(app.calls[0].csrf).toBe('from-cookie');
    } finally {
      delete holder.document;
    }
  });

  it('never sends the CSRF token to another origin, nor adopts a login body from one', async () => {
    const app = fakeApp();
    const client = createSessionClient({ baseUrl: 'https://app.example.com', fetch: app.fetch });
    client.adopt({ csrfToken: 'secret-ish', accessTokenExpiresAt: new Date(Date.now() + 600_000).toISOString() });
    for (const url of ['https://evil.example/x', '//evil.example/x', 'HTTPS://EVIL.EXAMPLE/auth/login']) {
      await client.fetch(url, { method: 'POST' });
    }
    await client.fetch('https://app.example.com/notes', { method: 'POST' });
    await client.fetch('/notes', { method: 'POST' });
    expect(app.calls.filter((c) => /evil/i.test(c.path)).map((c) => c.csrf)).toEqual([null, null, null]);
    const own = app.calls.filter((c) => !/evil/i.test(c.path));
    expect(own.length).toBeGreaterThanOrEqual(2);
    expect(own.every((c) => c.csrf === 'secret-ish' || c.csrf === 'csrf-1')).toBe(true);
    // The evil origin's "login" body was not adopted: the token is still the app's own.
    expect(own[0].csrf).toBe('secret-ish');
  });

  it('a wrong password on the login route is not a signed-out session, and logout forgets the session', async () => {
    const seen: string[] = [];
    const calls: string[] = [];
    const fetch = (async (url: string) => {
      calls.push(String(url));
      const body = String(url).endsWith('/auth/login') ? { statusCode: 401, code: 'INVALID_CREDENTIALS', message: 'no' } : {};
      return new Response(JSON.stringify(body), { status: String(url).endsWith('/auth/logout') ? 200 : 401, headers: { 'content-type': 'application/json' } });
    }) as typeof globalThis.fetch;
    const client = createSessionClient({ fetch });
    client.addEventListener('signedout', (e) => seen.push(e.detail.code));
    client.adopt({ csrfToken: 'c', accessTokenExpiresAt: new Date(Date.now() - 1000).toISOString() });
    await client.fetch('/auth/login', { method: 'POST' });
    expect(calls).toEqual(['/auth/login']); // no refresh ahead of a login
    expect(seen).toEqual([]);
    await client.fetch('/auth/logout', { method: 'POST' });
    expect(client.accessTokenExpiresAt).toBeNull();
  });

  it('reports SESSION_REVOKED once as a signedout event', async () => {
    const app = fakeApp({ revoked: true });
    const client = createSessionClient({ fetch: app.fetch });
    const seen: string[] = [];
    client.addEventListener('signedout', (e) => seen.push(e.detail.code));
    const res = await client.fetch('/notes');
    expect(res.status).toBe(401);
    expect(seen).toEqual(['SESSION_REVOKED']);
    expect(app.refreshes()).toBe(0);
  });
});
