import type { VerifyOptions } from 'jsonwebtoken';
import { MAX_TOKEN_BYTES } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { AccessTokenExpiredError, UnauthenticatedError } from '../errors/session-error';
import { isSessionId } from './refresh-token';
import { keyForHeader, type SigningAlgorithm } from './signing-keys';

/** The claims of a verified access token. */
export interface AccessClaims {
  iss: string;
  aud: string | string[];
  sub: string;
  /** Present when the app's user id is a number: the same id as `sub`, as that number. */
  uid?: number;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  roles: string[];
  /** When the user last proved who they are (login or re-authentication), in seconds (OIDC's `auth_time`). */
  auth_time?: number;
  /** DPoP-bound sessions only: the RFC 7638 thumbprint of the client's key (RFC 9449 §6). */
  cnf?: { jkt: string };
}

/** A token's header and payload once its signature has verified (jsonwebtoken's `complete: true` shape). */
export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown> | string;
}

export const ACCESS_TOKEN_TYP = 'at+jwt';
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Cheap shape and size check done before any base64 decoding or crypto (docs/security.md cases 5, 12). */
export function isWellFormedJwt(token: string): boolean {
  return token.length <= MAX_TOKEN_BYTES && JWT_SHAPE.test(token);
}

/**
 * Whether the signature segment is the one base64url spelling of its bytes. Decoders ignore the
 * unused low bits of the last character, so without this a genuine token has several spellings
 * that all verify; HS256 compares the text (one spelling already), the others decode.
 */
export function hasCanonicalSignature(token: string): boolean {
  const signature = token.slice(token.lastIndexOf('.') + 1);
  return Buffer.from(signature, 'base64url').toString('base64url') === signature;
}

/** A JWT's header, read before any crypto to choose the key; null when it is not a JSON object. */
export function readHeader(token: string): Record<string, unknown> | null {
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && !Array.isArray(header) ? (header as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * What jsonwebtoken checks: the signature in the configured algorithms (EdDSA, which it lacks, is
 * left to jose), `iss` and `aud`. The times are left to `checkClaims`, on the app's clock.
 */
export function verifyOptionsFor(options: Pick<ResolvedSessionOptions, 'keys' | 'issuer' | 'audience'>): VerifyOptions & { complete: true } {
  return {
    algorithms: options.keys.algorithms.filter((alg): alg is Exclude<SigningAlgorithm, 'EdDSA'> => alg !== 'EdDSA'),
    issuer: options.issuer,
    audience: options.audience,
    ignoreExpiration: true,
    ignoreNotBefore: true,
    complete: true,
  };
}

/**
 * `iss` and `aud` as jsonwebtoken compares them with `verifyOptionsFor`, for the tokens it does
 * not verify (EdDSA).
 */
export function isIssuedForUs(payload: unknown, options: Pick<ResolvedSessionOptions, 'issuer' | 'audience'>): payload is Record<string, unknown> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return false;
  const { iss, aud } = payload as Record<string, unknown>;
  return iss === options.issuer && (aud === options.audience || (Array.isArray(aud) && aud.includes(options.audience)));
}

/**
 * Checks what the signature check does not: header `typ` and `crit`, the required claims and the
 * times on our own clock. Called only once the signature, `iss` and `aud` have verified, so
 * `ACCESS_TOKEN_EXPIRED` is never said about a token we did not issue.
 */
export function checkClaims(
  options: Pick<ResolvedSessionOptions, 'keys' | 'clockSkewMs'>,
  decoded: DecodedJwt,
  nowMs: number,
  allowExpired = false,
): AccessClaims {
  const { header, payload } = decoded;
  if (header.typ !== ACCESS_TOKEN_TYP && header.typ !== `application/${ACCESS_TOKEN_TYP}`) throw new UnauthenticatedError();
  if (header.crit !== undefined || !keyForHeader(options.keys, header)) throw new UnauthenticatedError();
  if (typeof payload !== 'object' || payload === null) throw new UnauthenticatedError();
  const { sub, uid, sid, jti, iat, exp, nbf, roles, auth_time: authTime, cnf } = payload;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256) throw new UnauthenticatedError();
  if (uid !== undefined && !(typeof uid === 'number' && Number.isSafeInteger(uid) && String(uid) === sub)) throw new UnauthenticatedError();
  if (!isSessionId(sid)) throw new UnauthenticatedError();
  if (typeof jti !== 'string' || jti.length === 0) throw new UnauthenticatedError();
  if (typeof iat !== 'number' || typeof exp !== 'number' || !Number.isFinite(iat) || !Number.isFinite(exp)) {
    throw new UnauthenticatedError();
  }
  if (cnf !== undefined && !isKeyConfirmation(cnf)) throw new UnauthenticatedError();
  if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => typeof r === 'string'))) {
    throw new UnauthenticatedError();
  }
  const now = nowMs / 1000;
  const skew = options.clockSkewMs / 1000;
  if (iat > now + skew) throw new UnauthenticatedError();
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + skew)) throw new UnauthenticatedError();
  if (authTime !== undefined && (typeof authTime !== 'number' || !Number.isFinite(authTime) || authTime > now + skew)) throw new UnauthenticatedError();
  const claims = payload as unknown as AccessClaims;
  if (!allowExpired && isExpired(claims, nowMs, skew)) throw new AccessTokenExpiredError();
  return { ...claims, roles: (roles as string[] | undefined) ?? [] };
}

/** `cnf` as the library writes it: exactly `{ jkt }`, a SHA-256 thumbprint in base64url. */
function isKeyConfirmation(cnf: unknown): cnf is { jkt: string } {
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) return false;
  const keys = Object.keys(cnf);
  const jkt = (cnf as Record<string, unknown>).jkt;
  return keys.length === 1 && typeof jkt === 'string' && /^[A-Za-z0-9_-]{43}$/.test(jkt);
}

export function isExpired(claims: Pick<AccessClaims, 'exp'>, nowMs: number, skewSeconds: number): boolean {
  return nowMs / 1000 >= claims.exp + skewSeconds;
}
