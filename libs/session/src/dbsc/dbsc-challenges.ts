import { createHmac, timingSafeEqual } from 'node:crypto';

const MAC_BYTES = 16;

/**
 * DBSC challenges any instance can make and check without shared state: when it was made and an
 * HMAC of that and the session id, under a key derived from `sessionSecret`. A challenge names
 * one session and is good for `validMs`: long enough to be handed out with one refresh and
 * answered at the next, so the common refresh is one round trip.
 */
export class DbscChallenges {
  constructor(
    private readonly key: Buffer,
    private readonly validMs: number,
  ) {}

  make(sessionId: string, nowMs: number): string {
    const issued = Math.floor(nowMs / 1000);
    return `${issued.toString(36)}.${this.mac(sessionId, issued).toString('base64url')}`;
  }

  isValid(challenge: unknown, sessionId: string, nowMs: number): boolean {
    if (typeof challenge !== 'string' || challenge.length > 64) return false;
    const dot = challenge.indexOf('.');
    const issued = Number.parseInt(challenge.slice(0, dot), 36);
    if (dot < 1 || !Number.isSafeInteger(issued)) return false;
    const ageMs = nowMs - issued * 1000;
    if (ageMs < -5_000 || ageMs > this.validMs) return false;
    const given = Buffer.from(challenge.slice(dot + 1), 'base64url');
    const expected = this.mac(sessionId, issued);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(sessionId: string, issued: number): Buffer {
    return createHmac('sha256', this.key).update(`dbsc:${sessionId}:${issued}`).digest().subarray(0, MAC_BYTES);
  }
}
