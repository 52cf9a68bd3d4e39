import { createHash } from 'node:crypto';
import { DPOP_ALGORITHMS } from './dpop-algorithms';
import { KeyCache, KeyProofError, embeddedKey, parseSegment, signedBy, splitProof, type ProofKey } from '../tokens/key-proof';

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

/** Proof headers that checked out, keyed by their base64url text (one per client key). */
const keys = new KeyCache<Pick<ProofKey, 'verify' | 'jkt'>>(KEY_CACHE_SIZE);

/**
 * Verifies a DPoP proof JWT (RFC 9449 §4.3) in full, except the replay check, which needs shared
 * state (`DpopProofs`): `typ`, an asymmetric `alg`, an embedded public key only, the signature by
 * that key, `jti`, `htm`, `htu` (query and fragment ignored), `iat` within the window on the
 * server's clock, and `ath` when an access token is presented. Throws `KeyProofError`.
 */
export async function verifyDpopProof(proof: string, expected: DpopExpectation): Promise<VerifiedDpopProof> {
  const parts = splitProof(proof);
  const cached = keys.get(parts.headerText);
  const proofKey = cached ?? (await embeddedKey(parts.headerText, 'dpop+jwt', DPOP_ALGORITHMS));
  // The cheap checks first: a signature check is the dearest step, and anyone can make proofs.
  const { jti, htm, htu, iat, ath, nonce } = parseSegment(parts.payloadText);
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw new KeyProofError('jti');
  if (htm !== expected.method) throw new KeyProofError('htm');
  if (typeof htu !== 'string' || !expected.urls.includes(withoutQuery(htu))) throw new KeyProofError('htu');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new KeyProofError('iat');
  const ageMs = expected.nowMs - iat * 1000;
  if (ageMs > expected.maxAgeMs + expected.skewMs || ageMs < -expected.skewMs) throw new KeyProofError('iat window');
  if (expected.accessToken !== undefined) {
    if (ath !== createHash('sha256').update(expected.accessToken).digest('base64url')) throw new KeyProofError('ath');
  }
  if (!signedBy(parts, proofKey)) throw new KeyProofError('signature');
  if (!cached) keys.remember(parts.headerText, { verify: proofKey.verify, jkt: proofKey.jkt });
  return { jkt: proofKey.jkt, jti, nonce };
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
