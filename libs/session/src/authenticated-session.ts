import type { AccessClaims } from './tokens/access-token';
import type { SessionInfo, SessionUser, UserId } from './session.types';

/** The user and session of a verified access token. */
export interface AuthenticatedSession<Id extends UserId = UserId> {
  user: SessionUser<Id>;
  session: SessionInfo<Id>;
  claims: AccessClaims;
}

/** What a verified access token says, as much as the user and session objects need. */
export interface AuthenticatedFields {
  sid: string;
  /** The user id in the app's type: `uid` (a number) when present, else `sub`. */
  userId: UserId;
  roles: readonly string[];
  exp: number;
  /** `auth_time` in milliseconds, or null when the token has none. */
  authenticatedAtMs: number | null;
}

/** The user and session a handler sees: new objects each time (a handler may change them). */
export function authenticatedFrom<Id extends UserId = UserId>(fields: AuthenticatedFields, tokenSource: 'cookie' | 'bearer'): Pick<AuthenticatedSession<Id>, 'user' | 'session'> {
  const id = fields.userId as Id;
  return {
    user: { id, roles: fields.roles.slice() },
    session: {
      id: fields.sid,
      userId: id,
      tokenSource,
      accessTokenExpiresAt: new Date(fields.exp * 1000),
      authenticatedAt: fields.authenticatedAtMs === null ? null : new Date(fields.authenticatedAtMs),
    },
  };
}

/** The user, session and claims of verified access-token claims. */
export function toAuthenticated<Id extends UserId = UserId>(claims: AccessClaims, tokenSource: 'cookie' | 'bearer'): AuthenticatedSession<Id> {
  const fields: AuthenticatedFields = {
    sid: claims.sid,
    userId: claims.uid ?? claims.sub,
    roles: claims.roles,
    exp: claims.exp,
    authenticatedAtMs: typeof claims.auth_time === 'number' ? claims.auth_time * 1000 : null,
  };
  return { claims, ...authenticatedFrom<Id>(fields, tokenSource) };
}
