import { createHmac, timingSafeEqual } from 'node:crypto';
import { isSessionId } from '../tokens/refresh-token';
import { MAX_IDS_PER_MESSAGE, type RevocationMessage } from './revocation-message';

/** A message older or newer than this is refused (a replay, or a clock far off). */
export const REVOCATION_MESSAGE_MAX_AGE_MS = 60_000;
/** Larger payloads are dropped before any parsing (150 ids with framing stay under 7 KB). */
export const MAX_REVOCATION_PAYLOAD_BYTES = 8_000;

/**
 * Authenticates the messages instances send each other. Any role that can `NOTIFY` on the
 * database, or publish on Redis, could otherwise make every instance drop its session cache
 * (a flood of forged messages turns the cache off). Each message carries an HMAC-SHA-256 under a
 * key derived from `sessionSecret`, which every instance of the app shares, and a timestamp;
 * forged, altered, oversized, stale or malformed messages are dropped unparsed or unused.
 */
export class RevocationCodec {
  /** The first key signs; any of them verifies (earlier `sessionSecret`s, during a rotation). */
  private readonly keys: Buffer[];

  constructor(
    keys: Buffer | Buffer[],
    private readonly now: () => number = Date.now,
  ) {
    this.keys = Array.isArray(keys) ? keys : [keys];
  }

  encode(message: RevocationMessage): string {
    const t = this.now();
    return JSON.stringify({ o: message.origin, s: message.sessionIds, t, m: this.mac(message.origin, t, message.sessionIds) });
  }

  /** The message, or null when it is not one of ours. */
  decode(raw: string): RevocationMessage | null {
    if (typeof raw !== 'string' || raw.length > MAX_REVOCATION_PAYLOAD_BYTES) return null;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return null;
    }
    if (!value || typeof value !== 'object') return null;
    const { o, s, t, m } = value as Record<string, unknown>;
    if (typeof o !== 'string' || o.length > 64 || typeof t !== 'number' || !Number.isFinite(t) || typeof m !== 'string') return null;
    if (!Array.isArray(s) || s.length > MAX_IDS_PER_MESSAGE || !s.every(isSessionId)) return null;
    if (Math.abs(this.now() - t) > REVOCATION_MESSAGE_MAX_AGE_MS) return null;
    const given = Buffer.from(m, 'base64url');
    const genuine = this.keys.some((key) => {
      const expected = Buffer.from(this.mac(o, t, s as string[], key), 'base64url');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
    return genuine ? { origin: o, sessionIds: s as string[], sentAt: t } : null;
  }

  private mac(origin: string, t: number, sessionIds: readonly string[], key = this.keys[0]): string {
    return createHmac('sha256', key).update(`nest-sessions revocation v1\n${origin}\n${t}\n${sessionIds.join(',')}`).digest('base64url');
  }
}
