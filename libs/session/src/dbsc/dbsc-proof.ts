import { EmbeddedJWK, calculateJwkThumbprint, exportJWK, importJWK, jwtVerify, type JWK } from 'jose';

/** What the registration header offers; Chromium signs with the first it supports (ES256). */
export const DBSC_ALGORITHMS = ['ES256', 'RS256'] as const;
const MAX_PROOF_BYTES = 8192;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Why a DBSC proof failed; never shown to a client. */
export class DbscProofError extends Error {}

/** A registration proof that verified: the device's public key (JWK JSON), its thumbprint, the challenge answered. */
export interface DbscRegistration {
  publicJwk: string;
  jkt: string;
  jti: string;
}

/**
 * Verifies a registration's `Secure-Session-Response` JWT (W3C DBSC, as Chromium 156 sends it):
 * `typ: dbsc+jwt`, ES256 or RS256, signed by the public key in its header (`jwk`; private members
 * refused). The caller checks `jti` against the challenge it gave.
 */
export async function verifyDbscRegistration(jwt: string): Promise<DbscRegistration> {
  if (jwt.length > MAX_PROOF_BYTES || !COMPACT_JWS.test(jwt)) throw new DbscProofError('not a compact JWS');
  try {
    const { payload, protectedHeader } = await jwtVerify(jwt, async (header, token) => {
      const jwk = header.jwk;
      if (!jwk || typeof jwk !== 'object' || SECRET_MEMBERS.some((member) => member in jwk)) throw new DbscProofError('not a public key');
      return EmbeddedJWK(header, token);
    }, { typ: 'dbsc+jwt', algorithms: [...DBSC_ALGORITHMS] });
    if (typeof payload.jti !== 'string') throw new DbscProofError('jti');
    const key = await importJWK(protectedHeader.jwk as JWK, protectedHeader.alg);
    // Stored as exported again: only the public members, whatever else the header carried.
    const publicJwk = { ...(await exportJWK(key)), alg: protectedHeader.alg };
    return { publicJwk: JSON.stringify(publicJwk), jkt: await calculateJwkThumbprint(publicJwk, 'sha256'), jti: payload.jti };
  } catch (error) {
    throw error instanceof DbscProofError ? error : new DbscProofError('signature, typ or alg');
  }
}

/** Verifies a refresh's `Secure-Session-Response` JWT against the key the session registered; returns its `jti`. */
export async function verifyDbscRefresh(jwt: string, publicJwk: string): Promise<string> {
  if (jwt.length > MAX_PROOF_BYTES || !COMPACT_JWS.test(jwt)) throw new DbscProofError('not a compact JWS');
  try {
    const jwk = JSON.parse(publicJwk) as JWK & { alg: string };
    const { payload } = await jwtVerify(jwt, await importJWK(jwk, jwk.alg), { typ: 'dbsc+jwt', algorithms: [jwk.alg] });
    if (typeof payload.jti !== 'string') throw new DbscProofError('jti');
    return payload.jti;
  } catch (error) {
    throw error instanceof DbscProofError ? error : new DbscProofError('signature, typ or alg');
  }
}
