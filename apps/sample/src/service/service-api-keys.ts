import { createHash, timingSafeEqual } from 'node:crypto';
import { assertStrongSecret, SessionConfigError } from 'nest-sessions';

/** One machine client's key, kept only as its SHA-256 digest. */
export interface ServiceApiKey {
  name: string;
  digest: Buffer;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const digestOf = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/**
 * `SERVICE_API_KEYS`: comma-separated `name=key` pairs, each key checked as the library checks its
 * secrets (32 bytes or more, not a placeholder: e.g. `openssl rand -base64 32`). Unset: no API key
 * is accepted. The keys are hashed at once and never kept, logged or echoed; only the names are
 * (as the caller's id, `service:<name>`).
 */
export function parseServiceApiKeys(value: string | undefined): ServiceApiKey[] {
  const keys: ServiceApiKey[] = [];
  for (const entry of (value ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const at = entry.indexOf('=');
    const name = at > 0 ? entry.slice(0, at) : '';
    const key = at > 0 ? entry.slice(at + 1) : '';
    // The messages name the entry by position, never by its content: it may hold a key.
    const entryName = `SERVICE_API_KEYS entry ${keys.length + 1}`;
    if (!NAME.test(name) || !key) throw new Error(`${entryName} must be name=key, the name in [a-z0-9._-]`);
    try {
      assertStrongSecret(key, `${entryName}'s key`);
    } catch (error) {
      throw error instanceof SessionConfigError ? new Error(error.message.replace(/^nest-sessions: /, '')) : error;
    }
    if (keys.some((k) => k.name === name)) throw new Error(`SERVICE_API_KEYS names "${name}" twice`);
    keys.push({ name, digest: digestOf(key) });
  }
  return keys;
}

/**
 * The name of the key `presented` matches, or null. Every configured key is compared, each in
 * constant time on fixed-length digests, so neither a key's bytes nor its position show in the time.
 */
export function matchServiceApiKey(keys: readonly ServiceApiKey[], presented: string): string | null {
  const digest = digestOf(presented);
  let match: string | null = null;
  for (const key of keys) if (timingSafeEqual(key.digest, digest) && match === null) match = key.name;
  return match;
}
