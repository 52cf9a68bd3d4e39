import { MAX_TOKEN_BYTES } from '../session.constants';
import { UnauthenticatedError } from '../errors/session-error';
import { readCookie } from './cookies';
import type { RequestLike } from './http-types';

/** Where the access token of a request came from: it decides whether CSRF applies. */
export interface AccessTokenSource {
  token: string;
  via: 'cookie' | 'bearer';
  /** Presented as `Authorization: DPoP` (RFC 9449 §7.1): the request must carry a proof of the token's key. */
  dpop?: boolean;
}

/**
 * Finds the access token in the access cookie or `Authorization: Bearer` (or `DPoP`), never in a query
 * string or body. Oversized values, duplicate or look-alike cookies, and a header and a cookie
 * that disagree are refused before any decoding (docs/security.md cases 12, 15, 37).
 */
export function findAccessToken(req: RequestLike, cookieName: string): AccessTokenSource | null {
  const cookie = readCookie(req, cookieName);
  if (cookie.status === 'conflict') throw new UnauthenticatedError();
  let bearer: string | undefined;
  let dpop = false;
  const authorization = req.headers.authorization;
  if (authorization !== undefined) {
    if (authorization.length > MAX_TOKEN_BYTES + 7) throw new UnauthenticatedError();
    const match = /^(Bearer|DPoP) ([^\s]+)$/i.exec(authorization);
    if (!match) throw new UnauthenticatedError();
    bearer = match[2];
    dpop = match[1].toLowerCase() === 'dpop';
  }
  if (cookie.status === 'ok' && cookie.value.length > MAX_TOKEN_BYTES) throw new UnauthenticatedError();
  if (bearer !== undefined && cookie.status === 'ok' && bearer !== cookie.value) throw new UnauthenticatedError();
  if (bearer !== undefined) return dpop ? { token: bearer, via: 'bearer', dpop } : { token: bearer, via: 'bearer' };
  if (cookie.status === 'ok') return { token: cookie.value, via: 'cookie' };
  return null;
}
