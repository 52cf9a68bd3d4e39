import type { RequestLike } from './http-types';

/** A cookie read from the request, or the reason it must not be trusted. */
export type CookieRead = { status: 'absent' } | { status: 'ok'; value: string } | { status: 'conflict' };

const PREFIXES = /^(__host-|__secure-)/i;

/**
 * Reads one auth cookie from the raw `Cookie` header. Duplicates, or look-alikes that differ only
 * in case or prefix (a sibling subdomain can plant `ns-at` beside `__Host-ns-at`), make the read
 * a conflict, which the caller answers with 401 (docs/security.md case 37).
 */
export function readCookie(req: RequestLike, name: string): CookieRead {
  const header = req.headers.cookie;
  if (!header) return { status: 'absent' };
  const base = name.replace(PREFIXES, '').toLowerCase();
  let found: string | undefined;
  let count = 0;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    if (key.replace(PREFIXES, '').toLowerCase() !== base) continue;
    count += 1;
    if (key !== name) return { status: 'conflict' };
    found = part.slice(eq + 1).trim();
  }
  if (count > 1) return { status: 'conflict' };
  if (found !== undefined && found.length >= 2 && found.startsWith('"') && found.endsWith('"')) found = found.slice(1, -1);
  // `name=` and `name=""` both carry nothing.
  if (found === undefined || found === '') return { status: 'absent' };
  return { status: 'ok', value: found };
}

export interface CookieAttributes {
  /** Null: a session cookie (no Max-Age, no Expires), which the browser drops when it closes. */
  maxAgeSeconds: number | null;
  path: string;
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'Strict' | 'Lax';
}

export function serializeCookie(name: string, value: string, a: CookieAttributes): string {
  const lifetime = a.maxAgeSeconds === null ? '' : `; Max-Age=${Math.max(0, Math.floor(a.maxAgeSeconds))}`;
  let cookie = `${name}=${value}${lifetime}; Path=${a.path}; SameSite=${a.sameSite}`;
  if (a.maxAgeSeconds !== null && a.maxAgeSeconds <= 0) cookie += '; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
  if (a.httpOnly) cookie += '; HttpOnly';
  if (a.secure) cookie += '; Secure';
  return cookie;
}
