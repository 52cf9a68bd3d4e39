import { createHmac, timingSafeEqual } from 'node:crypto';
import { randomBase64url } from './random-pool';

/**
 * Signed double-submit CSRF token (OWASP): `<nonce>.<HMAC(key, sid . nonce)>`. Bound to the
 * session id, not to a refresh generation, so it keeps working across refreshes of its session
 * and fails for every other session. The key is derived from `sessionSecret`, never the JWT key.
 */
const FORMAT = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

function tag(key: Buffer, sessionId: string, nonce: string): Buffer {
  return createHmac('sha256', key).update(`${sessionId}.${nonce}`).digest();
}

export function mintCsrfToken(key: Buffer, sessionId: string): string {
  const nonce = randomBase64url(16);
  return `${nonce}.${tag(key, sessionId, nonce).toString('base64url')}`;
}

export function verifyCsrfToken(key: Buffer, sessionId: string, token: unknown): boolean {
  if (typeof token !== 'string' || token.length > 128) return false;
  const match = FORMAT.exec(token);
  if (!match) return false;
  // Compare the text, not decoded bytes: base64url decoding ignores the last character's low
  // bits, which would let four spellings of one tag verify.
  const expected = Buffer.from(tag(key, sessionId, match[1]).toString('base64url'));
  const presented = Buffer.from(match[2]);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}
