import { mintCsrfToken } from './tokens/csrf-token';
import type { SessionTransport } from './session.types';

/** Who is logging in, as the edge read it from the request. Plain data: no request or response. */
export interface IssueClient {
  /** `cookie` (default) or `bearer`; must be one of the app's `transports`. */
  transport?: SessionTransport;
  /** The user asked to stay signed in: the `rememberMe` profile (when the app has one). */
  rememberMe?: boolean;
  userAgent?: string;
  ip?: string;
  /** Bearer transport: bind the session to this DPoP key thumbprint (a proof the edge verified). */
  jkt?: string;
}

/** Who is refreshing, as the edge read it: the address the refresh limits count per client. */
export interface RefreshClient {
  ip?: string;
  /** The thumbprint of the key of the request's verified DPoP proof; absent or null: no proof. */
  jkt?: string | null;
  /**
   * Verifies the request's proof of a device key and returns its thumbprint (null: none), called
   * only once the attempt has been counted against the rate limits: proof work is not free.
   */
  proofKey?: () => Promise<string | null>;
}

/** A refresh token as the edge found it: the cookie, or a bearer client's body. */
export interface PresentedRefreshToken {
  token: string;
  via: 'cookie' | 'body';
}

/** What a login or refresh produced. Plain data; `SessionHttp` turns it into cookies or a body. */
export interface SessionGrant {
  sessionId: string;
  transport: SessionTransport;
  csrfToken: string;
  accessToken: string;
  accessTokenExpiresAt: Date;
  sessionExpiresAt: Date;
  /** False when the cookies should end with the browser session ("remember me" not asked for). */
  persistent: boolean;
  /** Absent after a grace-window refresh: the client keeps the refresh token it has. */
  refreshToken?: string;
  /**
   * Bound to a key the client's device holds: a bearer session's access token must be sent as
   * `Authorization: DPoP` with a proof; a cookie session (DBSC) gets an access cookie that lives
   * only as long as its token, so the browser refreshes it with a proof.
   */
  keyBound: boolean;
}

/** The session a grant is for, and the access token just signed for it. */
export interface GrantParts {
  transport: SessionTransport;
  sessionId: string;
  access: { token: string; expiresAt: Date };
  sessionExpiresAt: Date;
  persistent: boolean;
  refreshToken?: string;
  /** The session's DPoP key thumbprint, if it is bound. */
  jkt?: string | null;
}

/** A grant with its CSRF token, bound to the session id (valid across refreshes). */
export function grantOf(csrfKey: Buffer, parts: GrantParts): SessionGrant {
  return {
    sessionId: parts.sessionId,
    transport: parts.transport,
    csrfToken: mintCsrfToken(csrfKey, parts.sessionId),
    accessToken: parts.access.token,
    accessTokenExpiresAt: parts.access.expiresAt,
    sessionExpiresAt: parts.sessionExpiresAt,
    persistent: parts.persistent,
    keyBound: typeof parts.jkt === 'string',
    ...(parts.refreshToken ? { refreshToken: parts.refreshToken } : {}),
  };
}
