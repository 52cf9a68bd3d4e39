import { KeyObject } from 'node:crypto';
import { SessionConfigError } from './errors/session-config-error';
import { estimateSecretEntropy, MIN_SECRET_ENTROPY_BITS } from './secret-strength';

export const MIN_SECRET_BYTES = 32;

/** A secret option's bytes: a string (UTF-8), a Buffer or a secret KeyObject. */
export function secretBytes(value: unknown, name: string): Buffer {
  if (value instanceof KeyObject) {
    if (value.type !== 'secret') throw new SessionConfigError(`${name} must be a secret key (HS256).`);
    return value.export();
  }
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  throw new SessionConfigError(`${name} is required: set it to at least ${MIN_SECRET_BYTES} random bytes.`);
}

/** Refuses a secret that is short, or words rather than randomness, saying how to make one. */
export function assertStrong(bytes: Buffer, name: string): void {
  const generate = `(for example: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))")`;
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new SessionConfigError(`${name} is ${bytes.length} bytes; use at least ${MIN_SECRET_BYTES} random bytes ${generate}.`);
  }
  if (estimateSecretEntropy(bytes) < MIN_SECRET_ENTROPY_BITS) {
    throw new SessionConfigError(
      `${name} looks like a placeholder: it carries less than ${MIN_SECRET_ENTROPY_BITS} bits of randomness ` +
        `beyond its words and repeats; generate a random value instead ${generate}.`,
    );
  }
}

/**
 * Checks a secret of the app's own (an API key, a webhook secret) as the library checks
 * `jwtSecret` and `sessionSecret`: at least 32 bytes, and not a placeholder (words, repeats and
 * sequences count for little; at least 100 bits must remain). Throws a `SessionConfigError` whose
 * message names `name` and never the value.
 */
export function assertStrongSecret(value: string | Buffer, name: string): void {
  assertStrong(secretBytes(value, name), name);
}
