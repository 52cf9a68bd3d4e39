import { createHmac, type KeyObject } from 'node:crypto';

/**
 * HS256 compact JWS, signed with node:crypto directly: the same bytes jsonwebtoken would make for
 * this header and payload, without its per-call option checks and streams, which cost several
 * times the HMAC itself on every login and refresh (BENCHMARKS.md §2). Verification stays with
 * jsonwebtoken (passport-jwt), so a token this makes is checked by the independent implementation.
 */
export class Hs256Signer {
  private readonly encodedHeader: string;

  constructor(
    header: Record<string, unknown>,
    private readonly key: KeyObject,
  ) {
    this.encodedHeader = Buffer.from(JSON.stringify(header)).toString('base64url');
  }

  sign(payload: Record<string, unknown>): string {
    const input = `${this.encodedHeader}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    return `${input}.${createHmac('sha256', this.key).update(input).digest('base64url')}`;
  }
}
