import { createHmac, sign as rsaSign } from 'node:crypto';
import { keyPair } from './key-pairs';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** Builds JWS compact tokens by hand, so tests can make every malformed or hostile variant. */
export function forge(header: object, payload: object, key: string | Buffer, alg: 'sha256' | 'sha384' = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(alg, key).update(input).digest('base64url')}`;
}

export function unsigned(header: object, payload: object): string {
  return `${b64(header)}.${b64(payload)}.`;
}

export function rs256(header: object, payload: object): string {
  const { privateKey } = keyPair('rsa', { modulusLength: 2048 });
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${rsaSign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

export function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

export function decodeHeader(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
}

export { b64 };
