import { createSessionClient } from '../libs/session/client/session-client.mjs';
import { seededPicker } from './support/seeded-bytes';

/**
 * The browser client decides "same origin" as the browser's URL parser does (Node's URL is the same
 * WHATWG parser fetch uses), so no path string can carry the CSRF header to another host.
 */
const PAGE = 'https://app.example/notes/page';
const APP = 'https://app.example';
const TOKEN = 'csrf-of-this-session';

type Sent = { url: string; csrf: string | null };

async function send(paths: string[], options: { baseUrl?: string } = {}): Promise<Sent[]> {
  const sent: Sent[] = [];
  const fetch = (async (url: string, init: RequestInit = {}) => {
    sent.push({ url: String(url), csrf: new Headers(init.headers).get('x-csrf-token') });
    return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof globalThis.fetch;
  const client = createSessionClient({ ...options, fetch });
  client.adopt({ csrfToken: TOKEN, accessTokenExpiresAt: new Date(Date.now() + 600_000).toISOString() });
  for (const path of paths) await client.fetch(path, { method: 'POST' });
  return sent;
}

/** Where the browser sends it: resolved against the page, as fetch() resolves it. */
function originOf(url: string): string | null {
  try {
    return new URL(url, PAGE).origin;
  } catch {
    return null;
  }
}

/** Every request either went to the app with the token, or elsewhere without it. */
function wrongHeaders(sent: Sent[]): Array<Sent & { origin: string | null }> {
  return sent
    .map((s) => ({ ...s, origin: originOf(s.url) }))
    .filter((s) => (s.origin === APP ? s.csrf !== TOKEN : s.csrf !== null));
}

const REVIEW_CASES = ['/\\evil.example/x', '\\\\evil.example/x', ' //evil.example/x', '\t//evil.example/x', '\n/\\evil.example/x'];

// Fragments a hostile path is built of: what the URL parser strips, reads as a slash or a scheme.
const LEADS = ['', ' ', '\t', '\n', '\r', '\f', '\x00', '\x01', '\x1f', ' \t\n'];
const SCHEMES = ['', 'https:', 'http:', 'HTTPS:', 'hTtPs:', 'wss:', 'javascript:', 'data:', 'blob:https:'];
const SLASHES = ['', '/', '//', '\\\\', '/\\', '\\/', '///', '\\\\\\', '/\t/', '\\\n\\', '%2f%2f', '%5c%5c', '/%2f', './/', './/'];
const HOSTS = ['evil.example', 'EVIL.EXAMPLE', 'app.example.evil.example', 'app.example@evil.example', 'user:pw@evil.example', 'evil.example:443', '%65vil.example', 'evil%2eexample', '[::1]', '127.0.0.1', 'app.example', 'app.example:443', 'app.example:8443', '@evil.example'];
const TAILS = ['', '/x', '/auth/refresh', '/auth/login', '?q=1', '#f', '\\x', ' ', '\t'];

describe('nest-sessions/client: the CSRF header stays on the app\'s origin', () => {
  const holder = globalThis as { location?: unknown };
  beforeEach(() => {
    const url = new URL(PAGE);
    holder.location = { href: url.href, origin: url.origin, protocol: url.protocol };
  });
  afterEach(() => {
    delete holder.location;
  });

  it('the review\'s paths, which a regex reads as paths and the browser as hosts, get no header', async () => {
    const sent = await send(REVIEW_CASES);
    expect(sent.map((s) => originOf(s.url))).toEqual(REVIEW_CASES.map(() => 'https://evil.example'));
    expect(sent.map((s) => s.csrf)).toEqual(REVIEW_CASES.map(() => null));
  });

  it('the app\'s own paths still get it, however they are written', async () => {
    const own = ['/notes', 'notes', '/notes?x=1', `${APP}/notes`, '//app.example/notes', ' /notes', '\\notes', '/a\\b'];
    const sent = await send(own);
    expect(sent.map((s) => [s.url, originOf(s.url), s.csrf])).toEqual(own.map((p) => [p, APP, TOKEN]));
  });

  it('property: 20,000 seeded hostile paths, each either on the app\'s origin with the header or elsewhere without it', async () => {
    const seed = 'client-origin-1';
    const { pick } = seededPicker(seed);
    const paths = Array.from({ length: 20_000 }, () => pick(LEADS) + pick(SCHEMES) + pick(SLASHES) + pick(HOSTS) + pick(TAILS) + pick(LEADS));
    const sent = await send(paths);
    expect(sent).toHaveLength(paths.length);
    // Both sides occur, so the property is not met by never sending (or always sending) it.
    expect(sent.filter((s) => originOf(s.url) === APP).length).toBeGreaterThan(500);
    expect(sent.filter((s) => originOf(s.url) !== APP).length).toBeGreaterThan(5_000);
    expect({ seed, wrong: wrongHeaders(sent).slice(0, 5) }).toEqual({ seed, wrong: [] });
  });

  it('judges a path by the document\'s base URL, as fetch() resolves it: under <base href> on another host, no header', async () => {
    const holder = globalThis as { document?: unknown };
    holder.document = { baseURI: 'https://cdn.example/assets/', cookie: '' };
    try {
      const sent = await send(['/notes']);
      expect(sent).toEqual([{ url: '/notes', csrf: null }]);
      expect(new URL(sent[0].url, 'https://cdn.example/assets/').origin).toBe('https://cdn.example');
    } finally {
      delete holder.document;
    }
  });

  it('takes a URL string or a URL object, and refuses a Request (its address is its own)', async () => {
    const sent = await send([new URL(`${APP}/notes`) as unknown as string]);
    expect(sent).toEqual([{ url: `${APP}/notes`, csrf: TOKEN }]);
    await expect(send([new Request(`${APP}/notes`) as unknown as string])).rejects.toThrow(TypeError);
  });

  it('with an absolute baseUrl, a path is joined to it and a host in the path still gets no header', async () => {
    const paths = ['/notes', ...REVIEW_CASES, '.evil.example/x', '@evil.example/x'];
    const sent = await send(paths, { baseUrl: APP });
    expect(sent[0]).toEqual({ url: `${APP}/notes`, csrf: TOKEN });
    expect(wrongHeaders(sent)).toEqual([]);
    expect(sent.slice(1).every((s) => originOf(s.url) !== APP && s.csrf === null)).toBe(true);
  });
});
