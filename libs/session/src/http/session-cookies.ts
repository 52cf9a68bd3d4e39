import { Inject, Injectable } from '@nestjs/common';
import { RESOLVED_SESSION_OPTIONS } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { appendSetCookie, serializeCookie } from './cookies';
import type { ResponseLike } from './http-types';

/** What a response must carry after a login or a refresh in cookie transport. */
export interface CookieGrant {
  accessToken: string;
  /** Absent on a grace-window refresh: the refresh cookie is then left as it is. */
  refreshToken?: string;
  csrfToken: string;
  /** When the session ends (idle expiry capped at the absolute one): every cookie's lifetime. */
  sessionExpiresAt: Date;
}

/**
 * Writes and clears the three auth cookies with the attributes of CONTRACT D4: access
 * (`__Host-`, HttpOnly, Lax, Path=/), refresh (`__Secure-`, HttpOnly, Strict, Path=/auth), CSRF
 * (`__Host-`, readable, Strict, Path=/). Each lives as long as what is left of the session.
 */
@Injectable()
export class SessionCookies {
  constructor(@Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions) {}

  write(res: ResponseLike, grant: CookieGrant, nowMs: number): void {
    const { cookies } = this.options;
    const maxAge = (grant.sessionExpiresAt.getTime() - nowMs) / 1000;
    const out = [
      serializeCookie(cookies.accessName, grant.accessToken, this.attrs(maxAge, '/', true, 'Lax')),
      serializeCookie(cookies.csrfName, grant.csrfToken, this.attrs(maxAge, '/', false, 'Strict')),
    ];
    if (grant.refreshToken) {
      out.push(serializeCookie(cookies.refreshName, grant.refreshToken, this.attrs(maxAge, cookies.refreshPath, true, 'Strict')));
    }
    appendSetCookie(res, out);
    noStore(res);
  }

  /** The CSRF cookie alone, for as long as what is left of the session. */
  writeCsrf(res: ResponseLike, csrfToken: string, sessionExpiresAt: Date, nowMs: number): void {
    const maxAge = (sessionExpiresAt.getTime() - nowMs) / 1000;
    appendSetCookie(res, [serializeCookie(this.options.cookies.csrfName, csrfToken, this.attrs(maxAge, '/', false, 'Strict'))]);
    noStore(res);
  }

  /** Clears every auth cookie with the same name, path and attributes it was set with. */
  clear(res: ResponseLike, clearSiteData = this.options.clearSiteData): void {
    const { cookies } = this.options;
    appendSetCookie(res, [
      serializeCookie(cookies.accessName, '', this.attrs(0, '/', true, 'Lax')),
      serializeCookie(cookies.csrfName, '', this.attrs(0, '/', false, 'Strict')),
      serializeCookie(cookies.refreshName, '', this.attrs(0, cookies.refreshPath, true, 'Strict')),
    ]);
    if (clearSiteData) res.setHeader('Clear-Site-Data', '"cookies"');
    noStore(res);
  }

  private attrs(maxAgeSeconds: number, path: string, httpOnly: boolean, sameSite: 'Strict' | 'Lax') {
    return { maxAgeSeconds, path, httpOnly, sameSite, secure: this.options.cookies.secure };
  }
}

/** Responses that carry tokens must never be stored by a browser or proxy cache. */
export function noStore(res: ResponseLike): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
}
