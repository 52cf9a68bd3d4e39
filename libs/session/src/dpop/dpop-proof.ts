import { createHash } from 'node:crypto';
import { EmbeddedJWK, calculateJwkThumbprint, jwtVerify, type JWK } from 'jose';
import { DPOP_ALGORITHMS } from './dpop-algorithms';


/** A proof is a few hundred bytes; a bigger header is refused before any decoding. */
const MAX_PROOF_BYTES = 4096;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** JWK members of private or symmetric keys: a proof carries a public key only. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

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

/**
 * Verifies a DPoP proof JWT (RFC 9449 §4.3) in full, except the replay check, which needs shared
 * state (`DpopProofs`): `typ`, an asymmetric `alg`, an embedded public key only, the signature by
 * that key, `jti`, `htm`, `htu` (query and fragment ignored), `iat` within the window on the
 * server's clock, and `ath` when an access token is presented. Throws `DpopProofError`.
 */
export async function verifyDpopProof(proof: string, expected: DpopExpectation): Promise<VerifiedDpopProof> {
  if (proof.length > MAX_PROOF_BYTES || !COMPACT_JWS.test(proof)) throw new DpopProofError('not a compact JWS');
  let verified: Awaited<ReturnType<typeof jwtVerify>>;
  try {
    verified = await jwtVerify(proof, async (header, token) => {
      const jwk = header.jwk;
      if (!jwk || typeof jwk !== 'object' || SECRET_MEMBERS.some((member) => member in jwk)) throw new DpopProofError('not a public key');
      return EmbeddedJWK(header, token);
    }, { typ: 'dpop+jwt', algorithms: [...DPOP_ALGORITHMS] });
  } catch (error) {
    throw error instanceof DpopProofError ? error : new DpopProofError('signature, typ or alg');
  }
  const { payload, protectedHeader } = verified;
  if (protectedHeader.crit !== undefined) throw new DpopProofError('crit');
  const { jti, htm, htu, iat, ath, nonce } = payload as Record<string, unknown>;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw new DpopProofError('jti');
  if (htm !== expected.method) throw new DpopProofError('htm');
  if (typeof htu !== 'string' || !expected.urls.includes(withoutQuery(htu))) throw new DpopProofError('htu');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new DpopProofError('iat');
  const ageMs = expected.nowMs - iat * 1000;
  if (ageMs > expected.maxAgeMs + expected.skewMs || ageMs < -expected.skewMs) throw new DpopProofError('iat window');
  if (expected.accessToken !== undefined) {
    if (ath !== createHash('sha256').update(expected.accessToken).digest('base64url')) throw new DpopProofError('ath');
  }
  const jkt = await calculateJwkThumbprint(protectedHeader.jwk as JWK, 'sha256');
  return { jkt, jti, nonce };
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
