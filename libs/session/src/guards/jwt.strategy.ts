import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import { REQUEST_ACCESS_TOKEN, RESOLVED_SESSION_OPTIONS, SESSION_JWT_STRATEGY } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { AccessTokenService, type AccessClaims, type DecodedJwt } from '../tokens/access-token';

/**
 * passport-jwt strategy: HS256 pinned, `iss` and `aud` checked by jsonwebtoken, everything else
 * by `AccessTokenService.checkClaims`. The token is the one `SessionGuard` already found and
 * size-checked (cookie or bearer), so the strategy never looks at a query string.
 */
@Injectable()
export class SessionJwtStrategy extends PassportStrategy(Strategy, SESSION_JWT_STRATEGY) {
  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) options: ResolvedSessionOptions,
    private readonly accessTokens: AccessTokenService,
  ) {
    super({
      jwtFromRequest: (req: Record<string, unknown>) => (req[REQUEST_ACCESS_TOKEN] as string | undefined) ?? null,
      secretOrKey: options.jwtKey as unknown as string,
      // passport-jwt writes these four over `jsonWebTokenOptions` (undefined ones included), so
      // they are taken from the one place that defines verification.
      algorithms: accessTokens.verifyOptions.algorithms,
      issuer: accessTokens.verifyOptions.issuer as string,
      audience: accessTokens.verifyOptions.audience as string,
      ignoreExpiration: accessTokens.verifyOptions.ignoreExpiration,
      jsonWebTokenOptions: accessTokens.verifyOptions,
    });
  }

  validate(decoded: DecodedJwt): AccessClaims {
    return this.accessTokens.checkClaims(decoded, Date.now());
  }
}
