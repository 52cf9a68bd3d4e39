import { constants, createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';

/** A proof is a few hundred bytes (an RSA key makes it about two thousand); a bigger one is refused before any decoding. */
const MAX_PROOF_BYTES = 8192;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** JWK members of private or symmetric keys: a proof carries a public key only. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Why a proof failed; never shown to a client (every failure answers the same). */
export class KeyProofError extends Error {}

/** A client's public key, ready to check signatures of one `alg`. */
export interface ProofKey {
  /** Verifies a signature over `data` (the JWS signing input). */
  verify: (data: Buffer, signature: Buffer) => boolean;
  /** The key's RFC 7638 SHA-256 thumbprint. */
  jkt: string;
  /** The public key alone, as a JWK with its `alg`: what a session stores to check later proofs. */
  publicJwk: JsonWebKey & { alg: string };
}

/** A compact JWS taken apart; the signature is not checked yet. */
export interface ProofParts {
  headerText: string;
  payloadText: string;
  signatureText: string;
}

/**
 * The proofs of possession a client makes with its own key pair (DPoP, DBSC): a compact JWS
 * signed by a public key it names. Verified with node:crypto; jose's embedded-JWK path cost about
 * six times as much per proof here (bench part `bound`).
 */
export function splitProof(proof: string): ProofParts {
  if (proof.length > MAX_PROOF_BYTES || !COMPACT_JWS.test(proof)) throw new KeyProofError('not a compact JWS');
  const [headerText, payloadText, signatureText] = proof.split('.');
  return { headerText, payloadText, signatureText };
}

/**
 * Keys parsed before, by the text they came from (a proof header, a stored JWK): a client sends the
 * same key with every proof, so its JSON, its import and its thumbprint are worked out once. At most
 * `max` keys; the oldest goes first. Keep only keys a proof has verified against, so made-up headers
 * cannot push real clients' keys out.
 */
export class KeyCache<T> {
  private readonly keys = new Map<string, T>();

  constructor(private readonly max: number) {}

  get(text: string): T | undefined {
    return this.keys.get(text);
  }

  remember(text: string, key: T): void {
    if (this.keys.has(text)) return;
    if (this.keys.size >= this.max) this.keys.delete(this.keys.keys().next().value as string);
    this.keys.set(text, key);
  }
}

/** True when the signature of `parts` is `key`'s. */
export function signedBy(parts: ProofParts, key: Pick<ProofKey, 'verify'>): boolean {
  return key.verify(Buffer.from(`${parts.headerText}.${parts.payloadText}`), Buffer.from(parts.signatureText, 'base64url'));
}

/**
 * Checks a proof header: the `typ`, no `crit`, an `alg` of `algorithms`, and the public key it
 * embeds (`jwk`, no private members, of the `alg`'s type). Returns that key.
 */
export async function embeddedKey(headerText: string, typ: string, algorithms: readonly string[]): Promise<ProofKey> {
  const header = parseSegment(headerText);
  const { alg, jwk, crit } = header;
  if (header.typ !== typ || crit !== undefined) throw new KeyProofError('typ or crit');
  if (typeof alg !== 'string' || !algorithms.includes(alg)) throw new KeyProofError('alg');
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk) || SECRET_MEMBERS.some((member) => member in jwk)) throw new KeyProofError('not a public key');
  return keyOf(jwk as JsonWebKey, alg);
}

/** A key a session stored (`ProofKey.publicJwk`), ready again; the stored `alg` is the only one it verifies. */
export async function storedKey(publicJwk: string): Promise<ProofKey> {
  let jwk: JsonWebKey & { alg?: unknown };
  try {
    jwk = JSON.parse(publicJwk) as JsonWebKey & { alg?: unknown };
  } catch {
    throw new KeyProofError('stored key');
  }
  if (typeof jwk.alg !== 'string') throw new KeyProofError('stored key');
  return keyOf(jwk, jwk.alg);
}

async function keyOf(jwk: JsonWebKey, alg: string): Promise<ProofKey> {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    throw new KeyProofError('not a key');
  }
  // Exported again: only the public members, whatever else the client sent.
  const publicJwk = { ...key.export({ format: 'jwk' }), alg };
  return { verify: verifierFor(alg, key), jkt: await calculateJwkThumbprint(publicJwk as JWK, 'sha256'), publicJwk };
}

/** The signature check of `alg`, refusing a key of another type (an RSA key cannot make an ES256 proof). */
function verifierFor(alg: string, key: KeyObject): ProofKey['verify'] {
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const ecdsa = (hash: string, wanted: string) => {
    if (type !== 'ec' || curve !== wanted) throw new KeyProofError('key type');
    return (data: Buffer, signature: Buffer) => verify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  };
  const rsa = (padding?: number) => {
    // 2048 to 4096 bits and the usual exponent: a huge one would make each check as dear as signing.
    const details = key.asymmetricKeyDetails;
    const bits = details?.modulusLength ?? 0;
    if (type !== 'rsa' || bits < 2048 || bits > 4096 || details?.publicExponent !== 65537n) throw new KeyProofError('key type');
    return (data: Buffer, signature: Buffer) => verify('sha256', data, padding ? { key, padding, saltLength: 32 } : key, signature);
  };
  switch (alg) {
    case 'ES256':
      return ecdsa('sha256', 'prime256v1');
    case 'ES384':
      return ecdsa('sha384', 'secp384r1');
    case 'RS256':
      return rsa();
    case 'PS256':
      return rsa(constants.RSA_PKCS1_PSS_PADDING);
    case 'Ed25519':
    case 'EdDSA':
      if (type !== 'ed25519') throw new KeyProofError('key type');
      return (data: Buffer, signature: Buffer) => verify(null, data, key, signature);
    default:
      throw new KeyProofError('alg');
  }
}

/** A base64url JSON object (a JWS header or payload). */
export function parseSegment(segment: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new KeyProofError('not JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new KeyProofError('not an object');
  return value as Record<string, unknown>;
}
