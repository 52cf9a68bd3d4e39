import { createPrivateKey, createPublicKey, createSecretKey, KeyObject, type JsonWebKey } from 'node:crypto';
import { SessionConfigError } from '../errors/session-config-error';
import { assertStrong, secretBytes } from '../secret-material';

/** The algorithms a key may have. One per key: a token's `alg` must be its key's. */
export type SigningAlgorithm = 'HS256' | 'ES256' | 'RS256' | 'EdDSA';

/** One access-token key, as an app configures it. */
export interface SigningKey {
  /** Its id, written in the `kid` header of the tokens it signs: letters, digits, `.`, `_`, `~`, `-`; at most 64. */
  kid: string;
  alg: SigningAlgorithm;
  /**
   * HS256: the secret (at least 32 random bytes). ES256 (P-256), RS256 (at least 2048 bits) and
   * EdDSA (Ed25519):
   * the private key (PEM, a JWK object or a KeyObject), or only the public key for a key that
   * verifies but never signs (another service's, or one being retired).
   */
  key: string | Buffer | KeyObject | JsonWebKey;
}

/** A key ready for use: what verifies, and what signs when it can. */
export interface ResolvedSigningKey {
  /** null for the legacy `jwtSecret`, whose tokens carry no `kid`. */
  kid: string | null;
  alg: SigningAlgorithm;
  /** The secret (HS256) or the public key. */
  verifyKey: KeyObject;
  /** The secret (HS256) or the private key; null for a public key only. */
  signKey: KeyObject | null;
}

export interface ResolvedKeySet {
  /** Signs every new token. */
  current: ResolvedSigningKey;
  byKid: ReadonlyMap<string, ResolvedSigningKey>;
  /** Verifies tokens with no `kid` (signed before the app configured `signingKeys`). */
  legacy: ResolvedSigningKey | null;
  /** Every algorithm some key has. */
  algorithms: SigningAlgorithm[];
  /** HS256 beside asymmetric keys: allowed only while migrating from HS256 (`hs256Migration`). */
  mixed: boolean;
}

const KID = /^[A-Za-z0-9._~-]{1,64}$/;
const ALGORITHMS = new Set<SigningAlgorithm>(['HS256', 'ES256', 'RS256', 'EdDSA']);
const MIN_RSA_BITS = 2048;

/**
 * Checks the configured keys once at start. `jwtSecret` alone is one HS256 key whose tokens
 * carry no `kid` (as before key sets); beside `signingKeys` it only verifies such tokens.
 */
export function resolveKeySet(
  jwtSecret: unknown,
  keys: SigningKey[] | undefined,
  currentKid: string | undefined,
  hs256Migration = false,
): ResolvedKeySet {
  const legacy = jwtSecret === undefined ? null : legacyKey(jwtSecret);
  if (keys === undefined || keys.length === 0) {
    if (!legacy) throw new SessionConfigError('jwtSecret or signingKeys is required: the keys that sign access tokens.');
    if (currentKid !== undefined) throw new SessionConfigError('currentSigningKey names a key of signingKeys, and there are none.');
    return { current: legacy, byKid: new Map(), legacy, algorithms: ['HS256'], mixed: false };
  }
  if (!Array.isArray(keys)) throw new SessionConfigError('signingKeys must be an array of { kid, alg, key }.');
  const byKid = new Map<string, ResolvedSigningKey>();
  for (const [index, entry] of keys.entries()) {
    const key = resolveKey(entry, index);
    if (byKid.has(key.kid!)) throw new SessionConfigError(`signingKeys: kid ${JSON.stringify(key.kid)} is used twice.`);
    byKid.set(key.kid!, key);
  }
  const kid = currentKid ?? keys[0].kid;
  const current = byKid.get(kid);
  if (!current) throw new SessionConfigError(`currentSigningKey ${JSON.stringify(kid)} is not the kid of any key in signingKeys.`);
  if (!current.signKey) throw new SessionConfigError(`signingKeys: the current key ${JSON.stringify(kid)} is a public key; it needs its private key to sign.`);
  const all = [...byKid.values(), ...(legacy ? [legacy] : [])];
  const algorithms = [...new Set(all.map((k) => k.alg))];
  const mixed = algorithms.includes('HS256') && algorithms.length > 1;
  if (mixed && !hs256Migration) {
    const hmac = all.filter((k) => k.alg === 'HS256').map((k) => (k.kid === null ? 'jwtSecret' : JSON.stringify(k.kid)));
    throw new SessionConfigError(
      `signingKeys mixes HS256 (${hmac.join(', ')}) with asymmetric keys: whoever holds the HMAC secret could still mint ` +
        'the tokens the asymmetric keys are meant to reserve to this app. Drop the HS256 keys (and jwtSecret) one ' +
        'access-token lifetime after the asymmetric key signs, or set hs256Migration: true only for that migration.',
    );
  }
  return { current, byKid, legacy, algorithms, mixed };
}

/** The key a token's header names, or null: never a key of another algorithm, never a guess. */
export function keyForHeader(keys: ResolvedKeySet, header: Record<string, unknown>): ResolvedSigningKey | null {
  const { kid, alg } = header;
  let key: ResolvedSigningKey | null | undefined;
  if (kid === undefined) key = keys.legacy;
  // Looked up in a Map of configured ids only: the value is never a path, a query or a URL.
  else if (typeof kid === 'string' && KID.test(kid)) key = keys.byKid.get(kid);
  return key && key.alg === alg ? key : null;
}

/** The public keys as a JWK Set (RFC 7517): never a secret or a private part. */
export function publicJwks(keys: ResolvedKeySet): { keys: JsonWebKey[] } {
  return {
    keys: [...keys.byKid.values()]
      .filter((k) => k.alg !== 'HS256')
      .map((k) => {
        const { kty, crv, x, y, n, e } = k.verifyKey.export({ format: 'jwk' });
        return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e, kid: k.kid, alg: k.alg, use: 'sig' }).filter(([, v]) => v !== undefined));
      }),
  };
}

function legacyKey(jwtSecret: unknown): ResolvedSigningKey {
  const bytes = secretBytes(jwtSecret, 'jwtSecret');
  assertStrong(bytes, 'jwtSecret');
  const secret = createSecretKey(bytes);
  return { kid: null, alg: 'HS256', verifyKey: secret, signKey: secret };
}

function resolveKey(entry: SigningKey, index: number): ResolvedSigningKey {
  const where = `signingKeys[${index}]`;
  if (!entry || typeof entry !== 'object') throw new SessionConfigError(`${where} must be { kid, alg, key }.`);
  const { kid, alg } = entry;
  if (typeof kid !== 'string' || !KID.test(kid)) {
    throw new SessionConfigError(`${where}.kid must be 1 to 64 letters, digits, ".", "_", "~" or "-"; got ${JSON.stringify(kid)}.`);
  }
  if (!ALGORITHMS.has(alg)) throw new SessionConfigError(`${where}.alg must be "HS256", "ES256", "RS256" or "EdDSA"; got ${JSON.stringify(alg)}.`);
  const name = `signingKeys ${JSON.stringify(kid)}`;
  if (alg === 'HS256') {
    if (entry.key instanceof KeyObject && entry.key.type !== 'secret') {
      throw new SessionConfigError(`${name}: HS256 takes a secret, not a ${entry.key.type} key (an HMAC key and an asymmetric key never share an algorithm).`);
    }
    const bytes = secretBytes(isJwk(entry.key) ? undefined : entry.key, name);
    assertStrong(bytes, name);
    const secret = createSecretKey(bytes);
    return { kid, alg, verifyKey: secret, signKey: secret };
  }
  const { signKey, verifyKey } = asymmetric(entry.key, name);
  const type = verifyKey.asymmetricKeyType;
  const details = verifyKey.asymmetricKeyDetails ?? {};
  if (alg === 'ES256' && !(type === 'ec' && details.namedCurve === 'prime256v1')) {
    throw new SessionConfigError(`${name}: ES256 needs an EC key on the P-256 curve (prime256v1); got ${describe(verifyKey)}.`);
  }
  if (alg === 'EdDSA' && type !== 'ed25519') {
    throw new SessionConfigError(`${name}: EdDSA needs an Ed25519 key; got ${describe(verifyKey)}.`);
  }
  if (alg === 'RS256' && !(type === 'rsa' && (details.modulusLength ?? 0) >= MIN_RSA_BITS)) {
    throw new SessionConfigError(`${name}: RS256 needs an RSA key of at least ${MIN_RSA_BITS} bits; got ${describe(verifyKey)}.`);
  }
  return { kid, alg, verifyKey, signKey };
}

/** A private key (which also gives the public one) or a public key alone. */
function asymmetric(value: unknown, name: string): { signKey: KeyObject | null; verifyKey: KeyObject } {
  if (value instanceof KeyObject) {
    if (value.type === 'secret') throw new SessionConfigError(`${name}: an asymmetric algorithm takes a private or public key, not a secret.`);
    return value.type === 'private' ? { signKey: value, verifyKey: createPublicKey(value) } : { signKey: null, verifyKey: value };
  }
  const input = isJwk(value) ? { key: value, format: 'jwk' as const } : typeof value === 'string' || Buffer.isBuffer(value) ? value : null;
  if (input === null) throw new SessionConfigError(`${name}: the key must be a PEM string, a JWK object or a KeyObject.`);
  const isPrivate = isJwk(value) ? typeof (value as JsonWebKey).d === 'string' : /PRIVATE KEY/.test(String(value));
  try {
    if (isPrivate) {
      const signKey = createPrivateKey(input as never);
      return { signKey, verifyKey: createPublicKey(signKey) };
    }
    return { signKey: null, verifyKey: createPublicKey(input as never) };
  } catch {
    // The parser's message may quote the key material: say what is wrong, not what it read.
    throw new SessionConfigError(`${name}: the key could not be read as a PEM or JWK ${isPrivate ? 'private' : 'public'} key.`);
  }
}

function isJwk(value: unknown): value is JsonWebKey {
  return typeof value === 'object' && value !== null && !Buffer.isBuffer(value) && !(value instanceof KeyObject) && typeof (value as JsonWebKey).kty === 'string';
}

function describe(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') return `an EC key on ${details.namedCurve ?? 'an unknown curve'}`;
  if (key.asymmetricKeyType === 'rsa') return `an RSA key of ${details.modulusLength ?? '?'} bits`;
  return `a ${key.asymmetricKeyType ?? 'unknown'} key`;
}
