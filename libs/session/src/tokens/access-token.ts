import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { RESOLVED_SESSION_OPTIONS } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import type { UserId } from '../session.types';
import { storeUserId } from '../user-id';
import { SessionJwtStrategy } from '../guards/jwt.strategy';
import { ACCESS_TOKEN_TYP, type AccessClaims } from './access-claims';
import type { SigningAlgorithm } from './signing-keys';

export type { AccessClaims } from './access-claims';

/**
 * Access tokens: the one place they are signed, and the way into the one place they are verified.
 *
 * Signing uses the current key (`signingKeys`/`currentSigningKey`, else `jwtSecret`) in its one
 * algorithm: jsonwebtoken (through `@nestjs/jwt`) for HS256, ES256 and RS256, jose for EdDSA,
 * which jsonwebtoken lacks. Verification is `SessionJwtStrategy.verifyToken`, the passport-jwt
 * strategy `SessionGuard` runs on a cache miss, so no caller can verify by other rules.
 */
@Injectable()
export class AccessTokenService {
  private readonly jwt = new JwtService({});
  private readonly header: { alg: SigningAlgorithm; typ: string; kid?: string };

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly verifier: SessionJwtStrategy,
  ) {
    const { kid, alg } = options.keys.current;
    this.header = { alg, typ: ACCESS_TOKEN_TYP, ...(kid === null ? {} : { kid }) };
  }

  /** Signs a token for the session; `exp` never passes the session's absolute expiry. */
  async sign(
    user: { id: UserId; roles: string[] },
    sessionId: string,
    nowMs: number,
    sessionEndsAtMs: number,
    authenticatedAtMs = nowMs,
    /** The session's DPoP key thumbprint: the token then carries `cnf.jkt` and is useless without the key. */
    jkt: string | null = null,
  ): Promise<{ token: string; expiresAt: Date }> {
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
      ...(jkt === null ? {} : { cnf: { jkt } }),
    };
    // resolveKeySet refuses a current key without its private part. A KeyObject either way: given
    // a string, jsonwebtoken would parse the key again on every call.
    const { alg, signKey } = this.options.keys.current;
    const token =
      alg === 'EdDSA'
        ? await new SignJWT(payload).setProtectedHeader(this.header).sign(signKey!)
        : this.jwt.sign(payload, { privateKey: signKey as unknown as string, algorithm: alg, header: { ...this.header, alg } });
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /**
   * Verifies a token completely (`SessionJwtStrategy.verifyToken`). With `allowExpired`, an
   * expired but otherwise valid token is returned (logout uses this to find the session of an
   * expired access token).
   */
  verify(token: string, nowMs: number, allowExpired = false): Promise<AccessClaims> {
    return this.verifier.verifyToken(token, nowMs, allowExpired);
  }

  /**
   * The session a token names if its signature and claims verify, expired or not; null
   * otherwise (and for a DPoP-bound token, unless `jkt` is its key). For finding which session a
   * cookie or a logout belongs to, never for admitting.
   */
  async sessionIdOf(token: string, nowMs: number, jkt: string | null = null): Promise<string | null> {
    try {
      const claims = await this.verify(token, nowMs, true);
      // A DPoP-bound token names its session only beside a proof by its key.
      return claims.cnf && claims.cnf.jkt !== jkt ? null : claims.sid;
    } catch {
      return null;
    }
  }
}
