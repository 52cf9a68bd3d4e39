import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { randomBase64url } from './random-pool';

/**
 * Refresh token = `<session id>.<secret>`. The id finds the row by primary key; the secret is
 * 32 bytes from `crypto` and only its HMAC-SHA-256 under a server-side pepper is stored, so a
 * database dump yields no usable token. Not bcrypt: it truncates at 72 bytes and costs CPU on
 * every refresh, and a 256-bit random secret needs no stretching.
 */
export interface ParsedRefreshToken {
  sessionId: string;
  secret: string;
}

/** Tokens longer than this are refused unparsed (docs/security.md case 23). */
export const MAX_REFRESH_TOKEN_LENGTH = 1024;
const SECRET_BYTES = 32;
const SESSION_ID = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
const FORMAT = new RegExp(`^(${SESSION_ID})\\.([A-Za-z0-9_-]{43})$`);
const SESSION_ID_ONLY = new RegExp(`^${SESSION_ID}$`);

export function newSessionId(): string {
  return randomUUID();
}

/** Session ids are random UUIDv4s; anything else names no session and needs no SQL. */
export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID_ONLY.test(value);
}

export function newRefreshSecret(): string {
  return randomBase64url(SECRET_BYTES);
}

export function formatRefreshToken(sessionId: string, secret: string): string {
  return `${sessionId}.${secret}`;
}

/** Returns null for anything that is not exactly a token this library could have issued. */
export function parseRefreshToken(token: unknown): ParsedRefreshToken | null {
  if (typeof token !== 'string' || token.length > MAX_REFRESH_TOKEN_LENGTH) return null;
  const match = FORMAT.exec(token);
  return match ? { sessionId: match[1], secret: match[2] } : null;
}

export function hashRefreshSecret(secret: string, pepper: Buffer): Buffer {
  return createHmac('sha256', pepper).update(secret).digest();
}

/** Constant-time equality of two hashes; a missing stored hash never matches. */
export function hashesEqual(stored: Buffer | null | undefined, presented: Buffer): boolean {
  return !!stored && stored.length === presented.length && timingSafeEqual(stored, presented);
}
