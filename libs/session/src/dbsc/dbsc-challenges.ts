import { createHmac, timingSafeEqual } from 'node:crypto';

const MAC_BYTES = 16;

/**
 * What a challenge is for, and what it is bound to: a registration challenge names the session
 * and is handed out only with the login; a refresh challenge names the session and its current
 * generation, so a proof answers one refresh at most (the refresh rotates the generation).
 */
export type DbscChallengeFor = { purpose: 'register'; sessionId: string } | { purpose: 'refresh'; sessionId: string; generation: number };

/**
 * DBSC challenges any instance can make and check without shared state: when it was made and an
 * HMAC of that and what it is for, under a key derived from `sessionSecret`.
 */
export class DbscChallenges {
  constructor(
    private readonly key: Buffer,
    /** How long a refresh challenge stays good: handed out with one refresh, answered at the next. */
    private readonly refreshValidMs: number,
    /** How long a registration challenge stays good: the browser registers right after the login. */
    readonly registerValidMs: number,
  ) {}

  make(what: DbscChallengeFor, nowMs: number): string {
    const issued = Math.floor(nowMs / 1000);
    return `${issued.toString(36)}.${this.mac(what, issued).toString('base64url')}`;
  }

  isValid(challenge: unknown, what: DbscChallengeFor, nowMs: number): boolean {
    if (typeof challenge !== 'string' || challenge.length > 64) return false;
    const dot = challenge.indexOf('.');
    const issued = Number.parseInt(challenge.slice(0, dot), 36);
    if (dot < 1 || !Number.isSafeInteger(issued)) return false;
    const ageMs = nowMs - issued * 1000;
    const validMs = what.purpose === 'register' ? this.registerValidMs : this.refreshValidMs;
    if (ageMs < -5_000 || ageMs > validMs) return false;
    const given = Buffer.from(challenge.slice(dot + 1), 'base64url');
    const expected = this.mac(what, issued);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(what: DbscChallengeFor, issued: number): Buffer {
    const bound = what.purpose === 'register' ? `register:${what.sessionId}` : `refresh:${what.sessionId}:${what.generation}`;
    return createHmac('sha256', this.key).update(`dbsc:${bound}:${issued}`).digest().subarray(0, MAC_BYTES);
  }
}
