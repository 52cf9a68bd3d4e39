import { createHmac, timingSafeEqual } from 'node:crypto';

/** A nonce is good for the step it was made in and the next: one to two minutes. */
const STEP_MS = 60_000;
const MAC_BYTES = 16;

/**
 * Server nonces for DPoP proofs (RFC 9449 §8) that every instance can make and check without
 * shared state: the time step and an HMAC of it under a key derived from `sessionSecret`. A proof
 * can then not be made ahead of time for later use; the nonce is not a secret (any client gets one).
 */
export class DpopNonces {
  constructor(private readonly key: Buffer) {}

  current(nowMs: number): string {
    return this.make(Math.floor(nowMs / STEP_MS));
  }

  isValid(nonce: unknown, nowMs: number): boolean {
    if (typeof nonce !== 'string' || nonce.length > 64) return false;
    const dot = nonce.indexOf('.');
    const step = Number.parseInt(nonce.slice(0, dot), 36);
    const now = Math.floor(nowMs / STEP_MS);
    if (dot < 1 || !Number.isSafeInteger(step) || (step !== now && step !== now - 1)) return false;
    const given = Buffer.from(nonce.slice(dot + 1), 'base64url');
    const expected = this.mac(step);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private make(step: number): string {
    return `${step.toString(36)}.${this.mac(step).toString('base64url')}`;
  }

  private mac(step: number): Buffer {
    return createHmac('sha256', this.key).update(`dpop-nonce:${step}`).digest().subarray(0, MAC_BYTES);
  }
}
