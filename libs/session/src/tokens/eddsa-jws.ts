import { sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import type { DecodedJwt } from './access-token';

/**
 * EdDSA (Ed25519) compact JWS, RFC 8037. jsonwebtoken, which passport-jwt verifies with, has no
 * EdDSA; Node's crypto does the curve, and this only frames it. Verification is strict: the
 * token is exactly three base64url segments, the signature exactly 64 bytes in its one canonical
 * encoding, the header and payload JSON objects.
 */
export function signEdDsa(header: Record<string, unknown>, payload: Record<string, unknown>, privateKey: KeyObject): string {
  const input = `${encode(JSON.stringify(header))}.${encode(JSON.stringify(payload))}`;
  return `${input}.${edSign(null, Buffer.from(input), privateKey).toString('base64url')}`;
}

/** The decoded token when its Ed25519 signature verifies under `publicKey`; null otherwise. */
export function verifyEdDsa(token: string, publicKey: KeyObject): DecodedJwt | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [h, p, s] = parts;
  const signature = Buffer.from(s, 'base64url');
  if (signature.length !== 64 || signature.toString('base64url') !== s) return null;
  if (!edVerify(null, Buffer.from(`${h}.${p}`), publicKey, signature)) return null;
  const header = json(h);
  const payload = json(p);
  return header && payload ? { header, payload } : null;
}

function encode(text: string): string {
  return Buffer.from(text).toString('base64url');
}

function json(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
