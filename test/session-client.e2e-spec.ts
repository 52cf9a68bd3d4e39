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
    await new Promise((r) => setTimeout(r, 5));
    if (path.endsWith('/auth/refresh')) {
      refreshes += 1;
      return json(200, { csrfToken: `csrf-${refreshes}`, accessTokenExpiresAt: new Date(Date.now() + 600_000).toISOString() });
    }
    if (options.revoked) return json(401, { statusCode: 401, code: 'SESSION_REVOKED', message: 'ended' });
    return refreshes === 0 ? json(401, { statusCode: 401, code: 'ACCESS_TOKEN_EXPIRED', message: 'expired' }) : json(200, { ok: true });
  };
  return { fetch: fetch as typeof globalThis.fetch, calls, refreshes: () => refreshes };
}

/** Issue 11 §6: the browser client's behaviour, in Node (no Web Locks: the in-tab single flight). */
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

  it('refreshes ahead of accessTokenExpiresAt instead of waiting for a 401', async () => {
    const app = fakeApp();
    const client = createSessionClient({ fetch: app.fetch, refreshAheadMs: 30_000 });
    // A 400 ms token: the client refreshes in its last quarter, not 30 s ahead (which would be always).
    client.adopt({ csrfToken: 'c', accessTokenExpiresAt: new Date(Date.now() + 400).toISOString() });
    await client.fetch('/public');
    expect(app.refreshes()).toBe(1); // the fake answers ACCESS_TOKEN_EXPIRED before any refresh
    app.calls.length = 0;
    client.adopt({ csrfToken: 'c', accessTokenExpiresAt: new Date(Date.now() + 400).toISOString() });
    await new Promise((r) => setTimeout(r, 320));
    const res = await client.fetch('/notes');
    expect(res.status).toBe(200);
    expect(app.calls.map((c) => c.path)).toEqual(['/auth/refresh', '/notes']);
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
