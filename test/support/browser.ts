import request from 'supertest';
import { randomUUID } from 'node:crypto';
import type { TestApp } from './app';
import { useFakeDate } from './clock';

export interface ParsedCookie {
  name: string;
  value: string;
  attributes: Record<string, string | true>;
}

/** Parses one `Set-Cookie` header; attribute names are lower-cased. */
export function parseSetCookie(header: string): ParsedCookie {
  const [pair, ...attrs] = header.split(';').map((s) => s.trim());
  const eq = pair.indexOf('=');
  const attributes: Record<string, string | true> = {};
  for (const attr of attrs) {
    const i = attr.indexOf('=');
    if (i < 0) attributes[attr.toLowerCase()] = true;
    else attributes[attr.slice(0, i).toLowerCase()] = attr.slice(i + 1);
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
}

export function setCookies(res: { headers: Record<string, unknown> }): ParsedCookie[] {
  const raw = res.headers['set-cookie'];
  return (Array.isArray(raw) ? raw : raw ? [raw] : []).map((h) => parseSetCookie(String(h)));
}

export const ACCESS = '__Host-ns-at';
export const REFRESH = '__Secure-ns-rt';
export const CSRF = '__Host-ns-csrf';

/**
 * A cookie-keeping client. supertest's agent drops `Secure` cookies over plain http, so this
 * reads `Set-Cookie` itself and sends what a browser would, path scoping included.
 */
export class Browser {
  readonly cookies = new Map<string, { value: string; path: string }>();
  csrfToken?: string;

  constructor(private readonly t: TestApp, readonly userAgent = 'jest-browser') {}

  absorb(res: request.Response): request.Response {
    for (const c of setCookies(res)) {
      if (c.attributes['max-age'] === '0') this.cookies.delete(c.name);
      else this.cookies.set(c.name, { value: c.value, path: String(c.attributes.path ?? '/') });
    }
    const body = res.body as { csrfToken?: unknown } | undefined;
    if (body && typeof body.csrfToken === 'string') this.csrfToken = body.csrfToken;
    return res;
  }

  cookieHeader(path: string): string {
    return [...this.cookies]
      .filter(([, c]) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  get(name: string): string | undefined {
    return this.cookies.get(name)?.value;
  }

  /** Sends a request with this browser's cookies and, on unsafe methods, its CSRF token. */
  async send(method: 'get' | 'post' | 'delete', path: string, options: { body?: object; headers?: Record<string, string>; csrf?: boolean } = {}) {
    let req = request(this.t.server)[method](path).set('User-Agent', this.userAgent);
    const cookie = this.cookieHeader(path);
    if (cookie) req = req.set('Cookie', cookie);
    if (method !== 'get' && options.csrf !== false && this.csrfToken) req = req.set('x-csrf-token', this.csrfToken);
    for (const [k, v] of Object.entries(options.headers ?? {})) req = req.set(k, v);
    if (options.body) req = req.send(options.body);
    return this.absorb(await req);
  }

  post(path: string, body?: object, headers?: Record<string, string>) {
    return this.send('post', path, { body, headers });
  }
}

export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${randomUUID()}@example.test`;
}

export const PASSWORD = 'correct horse battery staple';

/** Registers a fresh user and logs in through the cookie transport. */
export async function signedInBrowser(t: TestApp, email = uniqueEmail()): Promise<{ browser: Browser; email: string; userId: string }> {
  const browser = new Browser(t);
  const reg = await browser.post('/auth/register', { email, password: PASSWORD });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
  const login = await browser.post('/auth/login', { email, password: PASSWORD });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return { browser, email, userId: reg.body.id };
}

/** Registers a fresh user and logs in with the bearer transport; returns the body tokens. */
export async function bearerLogin(t: TestApp, email = uniqueEmail()) {
  const reg = await request(t.server).post('/auth/register').send({ email, password: PASSWORD });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status}`);
  const res = await request(t.server).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
  return { userId: reg.body.id as string, email, accessToken: res.body.accessToken as string, refreshToken: res.body.refreshToken as string, csrfToken: res.body.csrfToken as string };
}

/**
 * A thief's browser replays a cookie session's rotated refresh token after the grace window (the
 * clock moved 11 s): reuse, which ends the session. Returns the thief's response.
 */
export async function replayAfterGrace(t: TestApp, refreshToken: string, csrfToken: string | undefined): Promise<request.Response> {
  const clock = useFakeDate();
  try {
    clock.advance(11_000);
    const thief = new Browser(t);
    thief.cookies.set(REFRESH, { value: refreshToken, path: '/auth' });
    thief.csrfToken = csrfToken;
    return await thief.post('/auth/refresh');
  } finally {
    clock.restore();
  }
}
