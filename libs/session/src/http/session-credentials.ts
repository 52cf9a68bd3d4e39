import { Inject, Injectable } from '@nestjs/common';
import { RESOLVED_SESSION_OPTIONS } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { UnauthenticatedError } from '../errors/session-error';
import type { PresentedRefreshToken } from '../session-grant';
import { readCookie } from './cookies';
import { findAccessToken, type AccessTokenSource } from './access-token-source';
import type { RequestLike } from './http-types';

/** Reads the credentials a request presents, under the app's cookie names. */
@Injectable()
export class SessionCredentials {
  constructor(@Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions) {}

  /** The access cookie or `Authorization: Bearer` (see `findAccessToken`). */
  accessToken(req: RequestLike): AccessTokenSource | null {
    return findAccessToken(req, this.options.cookies.accessName);
  }

  /** Whether the request carries the access or the refresh cookie (present at all, even malformed). */
  hasAuthCookie(req: RequestLike): boolean {
    const { accessName, refreshName } = this.options.cookies;
    return readCookie(req, accessName).status !== 'absent' || readCookie(req, refreshName).status !== 'absent';
  }

  /** The refresh cookie, or `{ refreshToken }` from a bearer client; both at once is refused. */
  refreshToken(req: RequestLike, body: unknown): PresentedRefreshToken | null {
    const cookie = readCookie(req, this.options.cookies.refreshName);
    if (cookie.status === 'conflict') throw new UnauthenticatedError();
    const fromBody = body && typeof body === 'object' ? (body as Record<string, unknown>).refreshToken : undefined;
    if (fromBody !== undefined && typeof fromBody !== 'string') throw new UnauthenticatedError();
    if (fromBody !== undefined && cookie.status === 'ok') throw new UnauthenticatedError();
    if (cookie.status === 'ok') return { token: cookie.value, via: 'cookie' };
    return fromBody !== undefined ? { token: fromBody, via: 'body' } : null;
  }
}
