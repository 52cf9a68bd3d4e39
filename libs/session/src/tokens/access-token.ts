import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import type { VerifyOptions } from 'jsonwebtoken';
import { RESOLVED_SESSION_OPTIONS, MAX_TOKEN_BYTES } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import type { UserId } from '../session.types';
import { storeUserId } from '../user-id';
import { AccessTokenExpiredError, UnauthenticatedError } from '../errors/session-error';
import { isSessionId } from './refresh-token';
import { keyForHeader, type ResolvedSigningKey, type SigningAlgorithm } from './signing-keys';
import { signEdDsa, verifyEdDsa } from './eddsa-jws';
import { Hs256Signer } from './hs256-jws';

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
}

/** jsonwebtoken's `complete: true` result. */
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
 * Signing and verification of access tokens. The key is the one the header's `kid` names among
 * the configured keys (none: the legacy `jwtSecret`), and only in that key's algorithm; the
 * signature, `iss` and `aud` are then checked by jsonwebtoken with that algorithm pinned. `typ`,
 * `crit`, the required claims and the times are checked here on our own clock, so that
 * `ACCESS_TOKEN_EXPIRED` is only said about a token whose signature, `typ`, `iss` and `aud` all
 * verified.
 */
@Injectable()
export class AccessTokenService {
  private readonly jwt = new JwtService({});
  readonly verifyOptions: VerifyOptions & { complete: true };
  /** The current key's signer when it is an HS256 secret. */
  private readonly hs256: Hs256Signer | null;

  constructor(@Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions) {
    const { kid, alg, signKey } = options.keys.current;
    this.hs256 = alg === 'HS256' && signKey ? new Hs256Signer(this.header(kid, alg), signKey) : null;
    this.verifyOptions = {
      // EdDSA is verified apart (jsonwebtoken has none): these are the ones jsonwebtoken checks.
      algorithms: options.keys.algorithms.filter((alg): alg is Exclude<SigningAlgorithm, 'EdDSA'> => alg !== 'EdDSA'),
      issuer: options.issuer,
      audience: options.audience,
      ignoreExpiration: true,
      ignoreNotBefore: true,
      complete: true,
    };
  }

  /** Signs a token for the session; `exp` never passes the session's absolute expiry. */
  sign(user: { id: UserId; roles: string[] }, sessionId: string, nowMs: number, sessionEndsAtMs: number, authenticatedAtMs = nowMs): { token: string; expiresAt: Date } {
    const iat = Math.floor(nowMs / 1000);
    const exp = Math.min(iat + this.options.accessTokenTtlMs / 1000, Math.floor(sessionEndsAtMs / 1000));
    const id = storeUserId(user.id);
    const payload = {
      iss: this.options.issuer,
      aud: this.options.audience,
      sub: id.text,
      ...(id.numeric ? { uid: Number(id.text) } : {}),
      sid: sessionId,
      jti: randomUUID(),
      iat,
      exp,
      roles: user.roles,
      auth_time: Math.floor(authenticatedAtMs / 1000),
    };
    const { kid, alg, signKey } = this.options.keys.current;
    let token: string;
    if (this.hs256) token = this.hs256.sign(payload);
    else if (alg === 'EdDSA') token = signEdDsa(this.header(kid, alg), payload, signKey!);
    else token = this.jwt.sign(payload, { privateKey: signKey as unknown as string, algorithm: alg, header: this.header(kid, alg) });
    return { token, expiresAt: new Date(exp * 1000) };
  }

  private header(kid: string | null, alg: SigningAlgorithm): { alg: SigningAlgorithm; typ: string; kid?: string } {
    return { alg, typ: ACCESS_TOKEN_TYP, ...(kid === null ? {} : { kid }) };
  }

  /**
   * Verifies a token completely. With `allowExpired`, an expired but otherwise valid token is
   * returned (logout uses this to find the session of an expired access token).
   */
  verify(token: string, nowMs: number, allowExpired = false): AccessClaims {
    if (!isWellFormedJwt(token)) throw new UnauthenticatedError();
    const key = this.keyFor(token);
    if (!key) throw new UnauthenticatedError();
    return this.checkClaims(this.verifySignature(token, key), nowMs, allowExpired);
  }

  /**
   * The signature, `iss` and `aud` under `key` in its one algorithm: jsonwebtoken for HS256,
   * ES256 and RS256, the Ed25519 check for EdDSA (with `iss` and `aud` checked here, as
   * jsonwebtoken would). Throws `UnauthenticatedError`.
   */
  verifySignature(token: string, key: ResolvedSigningKey): DecodedJwt {
    if (key.alg === 'EdDSA') {
      const decoded = verifyEdDsa(token, key.verifyKey);
      const payload = decoded?.payload;
      if (!decoded || typeof payload !== 'object' || payload.iss !== this.options.issuer || !audienceMatches(payload.aud, this.options.audience)) {
        throw new UnauthenticatedError();
      }
      return decoded;
    }
    try {
      return this.jwt.verify(token, { ...this.verifyOptions, algorithms: [key.alg], publicKey: key.verifyKey as unknown as string }) as unknown as DecodedJwt;
    } catch {
      throw new UnauthenticatedError();
    }
  }

  /**
   * The configured key a token's header names (its `kid`, in its own algorithm), or null. The
   * caller verifies with that key and that algorithm alone.
   */
  keyFor(token: string): ResolvedSigningKey | null {
    const header = readHeader(token);
    return header ? keyForHeader(this.options.keys, header) : null;
  }

  /**
   * The session a token names if its signature and claims verify, expired or not; null
   * otherwise. For finding which session a cookie or a logout belongs to, never for admitting.
   */
  sessionIdOf(token: string, nowMs: number): string | null {
    try {
      return this.verify(token, nowMs, true).sid;
    } catch {
      return null;
    }
  }

  /** Checks what jsonwebtoken does not: header `typ` and `crit`, required claims, times. */
  checkClaims(decoded: DecodedJwt, nowMs: number, allowExpired = false): AccessClaims {
    const { header, payload } = decoded;
    if (header.typ !== ACCESS_TOKEN_TYP && header.typ !== `application/${ACCESS_TOKEN_TYP}`) throw new UnauthenticatedError();
    if (header.crit !== undefined || !keyForHeader(this.options.keys, header)) throw new UnauthenticatedError();
    if (typeof payload !== 'object' || payload === null) throw new UnauthenticatedError();
    const { sub, uid, sid, jti, iat, exp, nbf, roles, auth_time: authTime } = payload;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256) throw new UnauthenticatedError();
    if (uid !== undefined && !(typeof uid === 'number' && Number.isSafeInteger(uid) && String(uid) === sub)) throw new UnauthenticatedError();
    if (!isSessionId(sid)) throw new UnauthenticatedError();
    if (typeof jti !== 'string' || jti.length === 0) throw new UnauthenticatedError();
    if (typeof iat !== 'number' || typeof exp !== 'number' || !Number.isFinite(iat) || !Number.isFinite(exp)) {
      throw new UnauthenticatedError();
    }
    if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => typeof r === 'string'))) {
      throw new UnauthenticatedError();
    }
    const now = nowMs / 1000;
    const skew = this.options.clockSkewMs / 1000;
    if (iat > now + skew) throw new UnauthenticatedError();
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + skew)) throw new UnauthenticatedError();
    if (authTime !== undefined && (typeof authTime !== 'number' || !Number.isFinite(authTime) || authTime > now + skew)) throw new UnauthenticatedError();
    const claims = payload as unknown as AccessClaims;
    if (!allowExpired && isExpired(claims, nowMs, skew)) throw new AccessTokenExpiredError();
    return { ...claims, roles: (roles as string[] | undefined) ?? [] };
  }
}

function audienceMatches(aud: unknown, expected: string): boolean {
  return aud === expected || (Array.isArray(aud) && aud.includes(expected));
}

export function isExpired(claims: Pick<AccessClaims, 'exp'>, nowMs: number, skewSeconds: number): boolean {
  return nowMs / 1000 >= claims.exp + skewSeconds;
}
