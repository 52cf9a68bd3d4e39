import type { ResolvedSessionOptions } from '../resolve-options';
import { serializeCookie, type CookieAttributes } from './cookies';

/** What a response must carry after a login or a refresh in cookie transport. */
export interface CookieGrant {
  accessToken: string;
  /** Absent on a grace-window refresh: the refresh cookie is then left as it is. */
  refreshToken?: string;
  csrfToken: string;
  /** When the session ends (idle expiry capped at the absolute one): every cookie's lifetime. */
  sessionExpiresAt: Date;
  /** False: session cookies, which end with the browser session ("remember me" not asked for). */
  persistent: boolean;
  /**
   * Bound to the browser's device key (DBSC): the access cookie then lives only as long as its
   * token, since the browser refreshes a bound cookie when it is missing or about to expire.
   */
  keyBound?: boolean;
  accessTokenExpiresAt?: Date;
}

type CookieNames = ResolvedSessionOptions['cookies'];

/**
 * The `Set-Cookie` values: access (`__Host-`, HttpOnly, Lax, Path=/), refresh
 * (`__Secure-`, HttpOnly, Strict, Path = the refresh route's mount path), CSRF (`__Host-`,
 * readable, Strict, Path=/). Each lives as long as what is left of the session, except the access
 * cookie of a DBSC-bound session, which lives as long as its token.
 */
export function grantCookies(names: CookieNames, refreshPath: string, grant: CookieGrant, nowMs: number): string[] {
  const maxAge = grant.persistent ? (grant.sessionExpiresAt.getTime() - nowMs) / 1000 : null;
  const accessMaxAge = grant.keyBound && grant.accessTokenExpiresAt ? (grant.accessTokenExpiresAt.getTime() - nowMs) / 1000 : maxAge;
  const out = [
    serializeCookie(names.accessName, grant.accessToken, attrs(names, accessMaxAge, '/', true, 'Lax')),
    csrfCookie(names, grant.csrfToken, grant.sessionExpiresAt, nowMs, grant.persistent),
  ];
  if (grant.refreshToken) out.push(serializeCookie(names.refreshName, grant.refreshToken, attrs(names, maxAge, refreshPath, true, 'Strict')));
  return out;
}

/** The CSRF cookie alone, for as long as what is left of the session (or the browser session). */
export function csrfCookie(names: CookieNames, csrfToken: string, sessionExpiresAt: Date, nowMs: number, persistent = true): string {
  const maxAge = persistent ? (sessionExpiresAt.getTime() - nowMs) / 1000 : null;
  return serializeCookie(names.csrfName, csrfToken, attrs(names, maxAge, '/', false, 'Strict'));
}

/** Clears every auth cookie with the same name, path and attributes it was set with. */
export function clearedCookies(names: CookieNames, refreshPath: string): string[] {
  return [
    serializeCookie(names.accessName, '', attrs(names, 0, '/', true, 'Lax')),
    serializeCookie(names.csrfName, '', attrs(names, 0, '/', false, 'Strict')),
    serializeCookie(names.refreshName, '', attrs(names, 0, refreshPath, true, 'Strict')),
  ];
}

function attrs(names: CookieNames, maxAgeSeconds: number | null, path: string, httpOnly: boolean, sameSite: 'Strict' | 'Lax'): CookieAttributes {
  return { maxAgeSeconds, path, httpOnly, sameSite, secure: names.secure };
}
