/** A user id as the app has it: text (a UUID, an email) or a number (a serial key). */
export type UserId = string | number;

/** The user a session belongs to, as the app's `loadUser` returns it. */
export interface SessionUser<Id extends UserId = string> {
  /**
   * The app's user id. Numbers (safe integers) come back as numbers, strings as strings: in
   * `@CurrentUser()`, `@CurrentSession()`, `loadUser` and the events.
   */
  id: Id;
  /** Roles copied into each access token; re-read from `loadUser` at every refresh. */
  roles: string[];
}

/** What a guarded handler learns about the session behind the request (`@CurrentSession()`). */
export interface SessionInfo<Id extends UserId = string> {
  /** The session id (a public UUID, safe to log). */
  id: string;
  userId: Id;
  /** How this request carried its access token: a cookie (CSRF applies) or `Authorization: Bearer`. */
  tokenSource: 'cookie' | 'bearer';
  /** When the access token of this request expires. */
  accessTokenExpiresAt: Date;
  /** When the user last proved who they are (login or re-authentication); null for tokens from before this was recorded. */
  authenticatedAt: Date | null;
}

/** `cookie`: tokens in HttpOnly cookies (browsers). `bearer`: tokens in JSON bodies (other clients). */
export type SessionTransport = 'cookie' | 'bearer';

/** A live session as `listForUser` and `GET /auth/sessions` show it. Never carries a token or hash. */
export interface SessionListItem {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  userAgent: string | null;
  /** A readable name for the device, from the user agent ("Safari on macOS"); see `deviceLabel`. */
  device: string | null;
  ip: string | null;
  current: boolean;
}

/** Why a session ended, as stored in `revoke_reason`. */
export type RevokeReason =
  | 'logout'
  | 'logout_all'
  | 'revoked'
  | 'reuse_detected'
  | 'transport_mismatch'
  | 'not_before'
  | 'user_disabled'
  | 'idle_timeout'
  | 'absolute_timeout'
  /** The session was created but its tokens never reached the client (the response failed). */
  | 'not_delivered'
  /** Ended by `revokeOthers` (the user ended every session but the one they are using). */
  | 'logout_others'
  /** Evicted by a newer login beyond `sessionLimit` (`onLimit: 'evict_oldest'`). */
  | 'session_limit'
  /** Ended because the user changed their password (an app passes it to `revokeOthers`). */
  | 'password_changed';
