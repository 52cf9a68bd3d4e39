import { constants, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { DPOP_ALGORITHMS } from './dpop-algorithms';

/** A proof is a few hundred bytes; a bigger header is refused before any decoding. */
const MAX_PROOF_BYTES = 4096;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** JWK members of private or symmetric keys: a proof carries a public key only. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** Distinct client keys whose parsed header is kept (one per client; evicted oldest first). */
const KEY_CACHE_SIZE = 10_000;

/** What a proof must match: the request as the client addressed it, and the token it presents. */
export interface DpopExpectation {
  /** The request's method, upper case. */
  method: string;
  /** The request's URL without query or fragment, in every spelling the app answers to (its origins). */
  urls: readonly string[];
  /** The access token the request presents (resource requests): the proof's `ath` must hash it. */
  accessToken?: string;
  nowMs: number;
  /** How old a proof's `iat` may be. */
  maxAgeMs: number;
  /** Allowed clock difference, both ways. */
  skewMs: number;
}

/** A proof that verified: the key's RFC 7638 thumbprint and the proof's own id. */
export interface VerifiedDpopProof {
  jkt: string;
  jti: string;
  /** The proof's `nonce` claim, unchecked (`DpopProofs` checks it when nonces are on). */
  nonce: unknown;
}

/** Why a proof failed; never shown to a client (every failure answers the same). */
export class DpopProofError extends Error {}

/** A proof header that checked out, with its key ready to verify: what every later proof of that key reuses. */
interface ProofKey {
  key: KeyObject;
  /** How to verify a signature of this `alg` with node:crypto. */
  verify: (data: Buffer, signature: Buffer) => boolean;
  jkt: string;
}

/**
 * Proof headers seen before, keyed by the header's base64url text: a client sends the same header
 * with every proof, so the JSON, the key import and the thumbprint are done once per key. A
 * verification through jose's embedded-JWK path cost about 540 µs per proof here, this about 90
 * (bench part `bound`).
 */
const keys = new Map<string, ProofKey>();

/**
 * Verifies a DPoP proof JWT (RFC 9449 §4.3) in full, except the replay check, which needs shared
 * state (`DpopProofs`): `typ`, an asymmetric `alg`, an embedded public key only, the signature by
 * that key, `jti`, `htm`, `htu` (query and fragment ignored), `iat` within the window on the
 * server's clock, and `ath` when an access token is presented. Throws `DpopProofError`.
 */
export async function verifyDpopProof(proof: string, expected: DpopExpectation): Promise<VerifiedDpopProof> {
  if (proof.length > MAX_PROOF_BYTES || !COMPACT_JWS.test(proof)) throw new DpopProofError('not a compact JWS');
  const [headerText, payloadText, signatureText] = proof.split('.');
  const cached = keys.get(headerText);
  const proofKey = cached ?? (await parseHeader(headerText));
  // The cheap checks first: a signature check is the dearest step, and anyone can make proofs.
  const payload = parseJson(payloadText);
  const { jti, htm, htu, iat, ath, nonce } = payload;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw new DpopProofError('jti');
  if (htm !== expected.method) throw new DpopProofError('htm');
  if (typeof htu !== 'string' || !expected.urls.includes(withoutQuery(htu))) throw new DpopProofError('htu');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new DpopProofError('iat');
  const ageMs = expected.nowMs - iat * 1000;
  if (ageMs > expected.maxAgeMs + expected.skewMs || ageMs < -expected.skewMs) throw new DpopProofError('iat window');
  if (expected.accessToken !== undefined) {
    if (ath !== createHash('sha256').update(expected.accessToken).digest('base64url')) throw new DpopProofError('ath');
  }
  if (!proofKey.verify(Buffer.from(`${headerText}.${payloadText}`), Buffer.from(signatureText, 'base64url'))) throw new DpopProofError('signature');
  // Kept only once a proof of the key verified: made-up headers cannot push real clients' keys out.
  if (!cached) remember(headerText, proofKey);
  return { jkt: proofKey.jkt, jti, nonce };
}

/** Checks a header never seen before: `typ`, `alg`, no `crit`, a public key of the `alg`'s type. */
async function parseHeader(headerText: string): Promise<ProofKey> {
  const header = parseJson(headerText);
  const { typ, alg, jwk, crit } = header;
  if (typ !== 'dpop+jwt' || crit !== undefined) throw new DpopProofError('typ or crit');
  if (typeof alg !== 'string' || !(DPOP_ALGORITHMS as readonly string[]).includes(alg)) throw new DpopProofError('alg');
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk) || SECRET_MEMBERS.some((member) => member in jwk)) throw new DpopProofError('not a public key');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch {
    throw new DpopProofError('not a key');
  }
  return { key, verify: verifierFor(alg, key), jkt: await calculateJwkThumbprint(jwk as JWK, 'sha256') };
}

function remember(headerText: string, proofKey: ProofKey): void {
  if (keys.size >= KEY_CACHE_SIZE) keys.delete(keys.keys().next().value as string);
  keys.set(headerText, proofKey);
}

/** The signature check of `alg`, refusing a key of another type (an RSA key cannot make an ES256 proof). */
function verifierFor(alg: string, key: KeyObject): ProofKey['verify'] {
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const ecdsa = (hash: string, wanted: string) => {
    if (type !== 'ec' || curve !== wanted) throw new DpopProofError('key type');
    return (data: Buffer, signature: Buffer) => verify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  };
  const rsa = (padding?: number) => {
    // 2048 to 4096 bits and the usual exponent: a huge one would make each check as dear as signing.
    const details = key.asymmetricKeyDetails;
    const bits = details?.modulusLength ?? 0;
    if (type !== 'rsa' || bits < 2048 || bits > 4096 || details?.publicExponent !== 65537n) throw new DpopProofError('key type');
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
    default: // Ed25519 and EdDSA
      if (type !== 'ed25519') throw new DpopProofError('key type');
      return (data: Buffer, signature: Buffer) => verify(null, data, key, signature);
  }
}

function parseJson(segment: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new DpopProofError('not JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new DpopProofError('not an object');
  return value as Record<string, unknown>;
}

/**
 * A URL as `htu` compares it: scheme, host and path (RFC 9449 §4.3: no query, no fragment), in the
 * WHATWG parser's normal form; '' for anything that is not an http(s) URL.
 */
export function withoutQuery(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return '';
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '';
  }
}
