import type { RequestLike } from './http-types';

/** A cookie read from the request, or the reason it must not be trusted. */
export type CookieRead = { status: 'absent' } | { status: 'ok'; value: string } | { status: 'conflict' };

const ABSENT: CookieRead = Object.freeze({ status: 'absent' });
const CONFLICT: CookieRead = Object.freeze({ status: 'conflict' });
const PREFIXES = ['__host-', '__secure-'];

/** `name` without its `__Host-`/`__Secure-` prefix, lower-cased: what a look-alike shares with it. */
const baseNames = new Map<string, string>();
function baseOf(name: string): string {
  let base = baseNames.get(name);
  if (base === undefined) {
    base = name.toLowerCase();
    for (const prefix of PREFIXES) if (base.startsWith(prefix)) base = base.slice(prefix.length);
    if (baseNames.size < 64) baseNames.set(name, base);
  }
  return base;
}

const isSpace = (c: number): boolean => c === 32 || c === 9;

/** Whether `header[start, end)` is `base` after an optional prefix, in any case (no allocation). */
function sameBase(header: string, start: number, end: number, base: string): boolean {
  if (header.charCodeAt(start) === 95 /* _ */) {
    for (const prefix of PREFIXES) {
      if (end - start > prefix.length && header.slice(start, start + prefix.length).toLowerCase() === prefix) {
        start += prefix.length;
        break;
      }
    }
  }
  if (end - start !== base.length) return false;
  for (let i = 0; i < base.length; i++) {
    const c = header.charCodeAt(start + i);
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== base.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Reads one auth cookie from the raw `Cookie` header. Duplicates, or look-alikes that differ only
 * in case or prefix (a sibling subdomain can plant `ns-at` beside `__Host-ns-at`), make the read
 * a conflict, which the caller answers with 401 (docs/security.md case 37). One pass over the
 * header, allocating only the value it returns: it runs on every guarded request.
 */
export function readCookie(req: RequestLike, name: string): CookieRead {
  const header = req.headers.cookie;
  if (!header) return ABSENT;
  const base = baseOf(name);
  let found: string | undefined;
  for (let start = 0; start < header.length; ) {
    let end = header.indexOf(';', start);
    if (end < 0) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq >= 0 && eq < end) {
      let ks = start;
      let ke = eq;
      while (ks < ke && isSpace(header.charCodeAt(ks))) ks++;
      while (ke > ks && isSpace(header.charCodeAt(ke - 1))) ke--;
      if (sameBase(header, ks, ke, base)) {
        if (found !== undefined || header.slice(ks, ke) !== name) return CONFLICT;
        found = header.slice(eq + 1, end).trim();
      }
    }
    start = end + 1;
  }
  if (found !== undefined && found.length >= 2 && found.startsWith('"') && found.endsWith('"')) found = found.slice(1, -1);
  // `name=` and `name=""` both carry nothing.
  if (found === undefined || found === '') return ABSENT;
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
