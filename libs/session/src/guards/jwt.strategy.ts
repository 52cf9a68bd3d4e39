import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Passport } from 'passport';
import { Strategy } from 'passport-jwt';
import { REQUEST_ACCESS_TOKEN, RESOLVED_SESSION_OPTIONS } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { AccessTokenService, type AccessClaims, type DecodedJwt } from '../tokens/access-token';

/**
 * The strategies register here, not in passport's process-wide registry: two `SessionModule`
 * apps in one process (an e2e suite, a multi-tenant host) must never find each other's strategy
 * by name, nor clobber an app's own `jwt` strategy. `SessionGuard` hands passport its own module's
 * strategy instance directly.
 */
const privateRegistry = new Passport();

/**
 * passport-jwt strategy: the key and its one algorithm chosen by the token's `kid`
 * (`AccessTokenService.keyFor`), `iss` and `aud` checked by jsonwebtoken, everything else
 * by `AccessTokenService.checkClaims`, all from `AccessTokenService.verifyOptions`, the one
 * definition of verification. The token is the one `SessionGuard` already found and size-checked
 * (cookie or bearer), so the strategy never looks at a query string.
 */
@Injectable()
export class SessionJwtStrategy extends PassportStrategy(Strategy, 'nest-sessions-jwt') {
  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) options: ResolvedSessionOptions,
    private readonly accessTokens: AccessTokenService,
  ) {
    super({
      jwtFromRequest: (req: Record<string, unknown>) => (req[REQUEST_ACCESS_TOKEN] as string | undefined) ?? null,
      // The key the token's `kid` names, in its own algorithm only; none: refused before any crypto.
      // (jsonwebtoken takes KeyObjects; passport-jwt's types say string or Buffer.)
      secretOrKeyProvider: (_req: unknown, rawToken: string, done: (error: unknown, key?: string) => void) => {
        const key = accessTokens.keyFor(rawToken);
        if (key) done(null, key.verifyKey as unknown as string);
        else done(new Error('no key for this token'));
      },
      // passport-jwt writes these four over `jsonWebTokenOptions` (undefined ones included), so
      // they are taken from the one place that defines verification.
      algorithms: accessTokens.verifyOptions.algorithms,
      issuer: accessTokens.verifyOptions.issuer as string,
      audience: accessTokens.verifyOptions.audience as string,
      ignoreExpiration: accessTokens.verifyOptions.ignoreExpiration,
      jsonWebTokenOptions: accessTokens.verifyOptions,
    });
  }

  /** Called by the `PassportStrategy` mixin to register the strategy: our registry, not passport's global one. */
  getPassportInstance() {
    return privateRegistry;
  }

  /**
   * Runs this strategy through passport for one request. Passport binds its success and failure
   * actions onto the strategy object it is given, so each request gets its own object derived
   * from this one: concurrent requests never answer each other.
   */
  verifyToken(req: object): Promise<AccessClaims> {
    // passport-jwt verifies with jsonwebtoken, which has no EdDSA: those tokens take the
    // library's Ed25519 check, with the same claim checks.
    const token = (req as Record<string, unknown>)[REQUEST_ACCESS_TOKEN];
    const key = typeof token === 'string' ? this.accessTokens.keyFor(token) : null;
    if (key?.alg === 'EdDSA') {
      return new Promise((resolve) => resolve(this.accessTokens.checkClaims(this.accessTokens.verifySignature(token as string, key), Date.now())));
    }
    return new Promise((resolve, reject) => {
      const done = (error: unknown, claims: AccessClaims | false) => (error || !claims ? reject(error ?? new Error('unauthenticated')) : resolve(claims));
      privateRegistry.authenticate(Object.create(this) as Strategy, { session: false }, done)(req, {}, reject);
    });
  }

  validate(decoded: DecodedJwt): AccessClaims {
    return this.accessTokens.checkClaims(decoded, Date.now());
  }
}
