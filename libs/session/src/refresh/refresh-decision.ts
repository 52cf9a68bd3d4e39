import type { RefreshRow } from '../store/session.store';
import type { PresentedRefreshToken } from '../session-grant';

/** Which of a session's secrets a presented one is: current, just rotated out, older, or none it issued. */
export type SecretMatch = 'current' | 'previous' | 'older' | null;

/**
 * What a refresh that missed the one-statement rotation does, decided from the full row alone:
 * - `unknown`: no such session, or a secret it never issued: refused, nothing touched;
 * - `ended`: revoked, or marked ended when it ran out (`ranOut`: the client must log in again);
 * - `expired`: it ran out now (idle or absolute): it is ended for that reason;
 * - `reuse`: an earlier secret outside the grace window: the session is revoked;
 * - `transport_mismatch`: a cookie secret in a body or the reverse: it was taken out of its client;
 * - `key_mismatch`: a secret of a session bound to a device key (DPoP, DBSC) without a proof by that key: copied off its
 *   device; refused, and the session goes on (a thief cannot end it, nor use it);
 * - `unbound`: a bearer session with no DPoP key where the app requires one: log in again;
 * - `grace`: the secret rotated out a moment ago (parallel tabs): an access token, no rotation;
 * - `rotate`: the current secret: rotate it.
 */
export type RefreshDecision =
  | { kind: 'unknown' }
  | { kind: 'ended'; ranOut: boolean }
  | { kind: 'expired'; reason: 'idle_timeout' | 'absolute_timeout' }
  | { kind: 'reuse' }
  | { kind: 'transport_mismatch' }
  | { kind: 'key_mismatch' }
  | { kind: 'unbound' }
  | { kind: 'grace' }
  | { kind: 'rotate' };

/**
 * The refresh transitions, in the order they are checked: an ended session answers the same
 * whichever secret comes, and reuse is judged before the transport so that a replayed secret
 * ends the session however it arrives.
 */
export function decideRefresh(
  row: RefreshRow | null,
  match: SecretMatch,
  via: PresentedRefreshToken['via'],
  nowMs: number,
  reuseGraceMs: number,
  jkt: string | null = null,
  keyRequired = false,
): RefreshDecision {
  if (!row || !match) return { kind: 'unknown' };
  if (row.revokedAt) return { kind: 'ended', ranOut: row.revokeReason === 'idle_timeout' || row.revokeReason === 'absolute_timeout' };
  if (nowMs >= row.expiresAt.getTime()) {
    return { kind: 'expired', reason: nowMs >= row.absoluteExpiresAt.getTime() ? 'absolute_timeout' : 'idle_timeout' };
  }
  // Before reuse: without the key, an old secret proves nothing, so it must not end the session.
  if (row.keyJkt !== null && row.keyJkt !== jkt) return { kind: 'key_mismatch' };
  if (keyRequired && row.keyJkt === null && row.transport === 'bearer') return { kind: 'unbound' };
  const inGrace = match === 'previous' && reuseGraceMs > 0 && row.rotatedAt !== null && nowMs - row.rotatedAt.getTime() <= reuseGraceMs;
  if (match !== 'current' && !inGrace) return { kind: 'reuse' };
  if ((row.transport === 'cookie') !== (via === 'cookie')) return { kind: 'transport_mismatch' };
  return inGrace ? { kind: 'grace' } : { kind: 'rotate' };
}
