import { KeyCache, KeyProofError, embeddedKey, parseSegment, signedBy, splitProof, storedKey, type ProofKey, type ProofParts } from '../tokens/key-proof';

/** Distinct device keys kept parsed (one per DBSC-bound session refreshing on this instance). */
const DEVICE_KEY_CACHE_SIZE = 10_000;

/** What the registration header offers; Chromium signs with the first it supports (ES256). */
export const DBSC_ALGORITHMS = ['ES256', 'RS256'] as const;

/** A registration proof that verified: the device's public key (JWK JSON), its thumbprint, the challenge answered. */
export interface DbscRegistration {
  publicJwk: string;
  jkt: string;
  jti: string;
}

/**
 * Verifies a registration's `Secure-Session-Response` JWT (W3C DBSC, as Chromium 156 sends it):
 * `typ: dbsc+jwt`, ES256 or RS256, signed by the public key in its header (`jwk`; private members
 * refused). The caller checks `jti` against the challenge it gave. Throws `KeyProofError`.
 */
export async function verifyDbscRegistration(jwt: string): Promise<DbscRegistration> {
  const parts = splitProof(jwt);
  const key = await embeddedKey(parts.headerText, 'dbsc+jwt', DBSC_ALGORITHMS);
  return { publicJwk: JSON.stringify(key.publicJwk), jkt: key.jkt, jti: answeredChallenge(parts, key) };
}

/** Device keys sessions registered, by their stored JWK text: read once per device, not on every refresh. */
const deviceKeys = new KeyCache<{ verify: ProofKey['verify']; alg: string }>(DEVICE_KEY_CACHE_SIZE);

/** Verifies a refresh's `Secure-Session-Response` JWT against the key the session registered; returns its `jti`. */
export async function verifyDbscRefresh(jwt: string, publicJwk: string): Promise<string> {
  const parts = splitProof(jwt);
  const cached = deviceKeys.get(publicJwk);
  const key = cached ?? (await deviceKeyOf(publicJwk));
  const header = parseSegment(parts.headerText);
  if (header.typ !== 'dbsc+jwt' || header.crit !== undefined || header.alg !== key.alg) throw new KeyProofError('typ, crit or alg');
  const jti = answeredChallenge(parts, key);
  if (!cached) deviceKeys.remember(publicJwk, key);
  return jti;
}

async function deviceKeyOf(publicJwk: string): Promise<{ verify: ProofKey['verify']; alg: string }> {
  const { verify, publicJwk: jwk } = await storedKey(publicJwk);
  return { verify, alg: jwk.alg };
}

/** The challenge a proof answers (its `jti`), once its signature is the key's. */
function answeredChallenge(parts: ProofParts, key: Pick<ProofKey, 'verify'>): string {
  const { jti } = parseSegment(parts.payloadText);
  if (typeof jti !== 'string') throw new KeyProofError('jti');
  if (!signedBy(parts, key)) throw new KeyProofError('signature');
  return jti;
}
