import type { RevokeReason, SessionTransport } from '../session.types';
import type { RateLimitRule } from '../rate-limit/gcra';

// The rows and arguments of the session store's statements.

/** The columns a refresh needs, read by primary key. */
export interface RefreshRow {
  userId: string;
  /** The app gave the user id as a number. */
  userIdNumeric: boolean;
  transport: SessionTransport;
  secretHash: Buffer;
  /** The hash of the secret rotated out last, if any. */
  previousHash: Buffer | null;
  rotatedAt: Date | null;
  generation: number;
  expiresAt: Date;
  absoluteExpiresAt: Date;
  revokedAt: Date | null;
  revokeReason: RevokeReason | null;
  /** When the user last proved who they are: the login, or the last re-authentication. */
  authenticatedAt: Date;
  /** This session's idle timeout; null: the app's. */
  idleTimeoutMs: number | null;
  persistent: boolean;
  /** The thumbprint of the device key a session is bound to (DPoP or DBSC); null otherwise. */
  keyJkt: string | null;
  /** A DBSC-bound session's public key (JWK JSON); null otherwise. */
  deviceKey: string | null;
}

/** A rotation of the current secret, as `rotateCurrent` asks for it. */
export interface CurrentRotation {
  id: string;
  /** The presented secret's hash under every accepted pepper. */
  hashes: Buffer[];
  newHash: Buffer;
  now: Date;
  /** The app's idle timeout, for sessions that keep none of their own. */
  idleTimeoutMs: number;
  lineageSize: number;
  /** The token came in the refresh cookie (a cookie session), else in a body (a bearer one). */
  viaCookie: boolean;
  /** The thumbprint of the key that signed the request's DPoP proof, or null: a bound session rotates only with its key. */
  jkt: string | null;
  /** Only a session bound to `jkt` rotates (`dpop: 'required'`, a bearer refresh). */
  keyRequired: boolean;
  /**
   * Rate limits to apply first, in order; each only if the ones before allowed the attempt. One
   * marked `onFailure` is checked, not spent (the caller charges it if the attempt fails); one
   * marked `inSessionRow` (its key is the session's id) is kept in the session's row and spent
   * only by the rotation (the caller charges an attempt that did not rotate).
   */
  limits: Array<{ key: string; rule: RateLimitRule; onFailure?: boolean; inSessionRow?: boolean }>;
}

/** What `rotateCurrent` did. */
export type CurrentRotationResult =
  | { outcome: 'rotated'; row: RotatedRow }
  /** The limit at `index` refused; `prior` is its state before (null: just created elsewhere). */
  | { outcome: 'limited'; index: number; prior: string | null }
  /** Not the current secret of an open session of this transport: the full classification decides. */
  | { outcome: 'not_current' };

/** The session after a rotation, with what the access token and the undo need. */
export interface RotatedRow {
  userId: string;
  userIdNumeric: boolean;
  transport: SessionTransport;
  generation: number;
  expiresAt: Date;
  absoluteExpiresAt: Date;
  authenticatedAt: Date;
  persistent: boolean;
  keyJkt: string | null;
  /** `rotated_at` before this rotation, for `undoRotation`. */
  previousRotatedAt: Date | null;
}

export interface NewSessionRow {
  id: string;
  userId: string;
  userIdNumeric: boolean;
  transport: SessionTransport;
  secretHash: Buffer;
  now: Date;
  expiresAt: Date;
  absoluteExpiresAt: Date;
  userAgent: string | null;
  ip: string | null;
  /** Null: the app's idle timeout. */
  idleTimeoutMs: number | null;
  persistent: boolean;
  /** Bound to this DPoP key (a bearer login with a proof); null otherwise. */
  keyJkt: string | null;
}

export interface LiveSessionRow {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  userAgent: string | null;
  ip: string | null;
}

/**
 * A position in the cleanup's `(expires_at, id)` walk. The timestamp travels as ISO-8601 text
 * with microseconds: a JS Date would round it to milliseconds, and a rounded bound would cut
 * batches short.
 */
export interface CleanupCursor {
  expiresAt: string;
  id: string;
}
