import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { compactVerify } from 'jose';
import type { VerifyOptions } from 'jsonwebtoken';
import { Passport } from 'passport';
import { Strategy } from 'passport-jwt';
import { RESOLVED_SESSION_OPTIONS } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { SessionError, UnauthenticatedError } from '../errors/session-error';
import {
  checkClaims,
  hasCanonicalSignature,
  isIssuedForUs,
  isWellFormedJwt,
  readHeader,
  verifyOptionsFor,
  type AccessClaims,
  type DecodedJwt,
} from '../tokens/access-claims';
import { keyForHeader, type ResolvedSigningKey } from '../tokens/signing-keys';

/**
 * The strategies register here, not in passport's process-wide registry: two `SessionModule`
 * apps in one process (an e2e suite, a multi-tenant host) must never find each other's strategy
 * by name, nor clobber an app's own `jwt` strategy. `verifyToken` hands passport its own module's
 * strategy instance directly.
 */
const privateRegistry = new Passport();

/**
 * One verification on its way through passport, in place of an HTTP request: passport-jwt reads
 * the token and the key from it, `validate` the clock. Passport decorates it (`login`, …), so it
 * is a fresh object each time.
 */
interface Verification {
  token: string;
  key: ResolvedSigningKey;
  nowMs: number;
  allowExpired: boolean;
}

/**
 * The one verifier of access tokens: `SessionGuard` on a cache miss, and through
 * `AccessTokenService.verify` CSRF, logout, sockets and `SessionService.validateAccessToken`.
 *
 * A passport-jwt strategy (through `@nestjs/passport`): the key is the one the token's `kid` names,
 * only in that key's algorithm (`keyForHeader`), chosen before any crypto; jsonwebtoken checks the
 * signature, `iss` and `aud` (`verifyOptionsFor`) for HS256, ES256 and RS256. jsonwebtoken has no
 * EdDSA: those tokens are verified by jose here, with `iss` and `aud` compared the same way. Then
 * `checkClaims` for both, so every caller gets the same answer for the same token and clock.
 */
@Injectable()
export class SessionJwtStrategy extends PassportStrategy(Strategy, 'nest-sessions-jwt') {
  /** What jsonwebtoken is told, as passport-jwt passes it on. */
  readonly verifyOptions: VerifyOptions & { complete: true };

  constructor(@Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions) {
    const verifyOptions = verifyOptionsFor(options);
    super({
      jwtFromRequest: (job: Verification) => job.token,
      // jsonwebtoken takes KeyObjects; passport-jwt's types say string or Buffer.
      secretOrKeyProvider: (job: Verification, _token: string, done: (error: unknown, key?: string) => void) => done(null, job.key.verifyKey as unknown as string),
      passReqToCallback: true,
      // passport-jwt writes these four over `jsonWebTokenOptions` (undefined ones included), so
      // they are given from the same object.
      algorithms: verifyOptions.algorithms,
      issuer: verifyOptions.issuer as string,
      audience: verifyOptions.audience as string,
      ignoreExpiration: verifyOptions.ignoreExpiration,
      jsonWebTokenOptions: verifyOptions,
    });
    this.verifyOptions = verifyOptions;
  }

  /** Called by the `PassportStrategy` mixin to register the strategy: our registry, not passport's global one. */
  getPassportInstance() {
    return privateRegistry;
  }

  /**
   * Verifies a token completely at `nowMs`. With `allowExpired`, an expired but otherwise valid
   * token is returned (logout finds the session of an expired access token this way). Rejects
   * with `AccessTokenExpiredError` (only once the signature, `typ`, `iss` and `aud` verified) or
   * `UnauthenticatedError`, which never says which check failed.
   */
  async verifyToken(token: string, nowMs: number, allowExpired = false): Promise<AccessClaims> {
    const header = typeof token === 'string' && isWellFormedJwt(token) && hasCanonicalSignature(token) ? readHeader(token) : null;
    const key = header ? keyForHeader(this.options.keys, header) : null;
    if (!key) throw new UnauthenticatedError();
    const job: Verification = { token, key, nowMs, allowExpired };
    try {
      return key.alg === 'EdDSA' ? await this.verifyEdDsa(job) : await this.throughPassport(job);
    } catch (error) {
      throw error instanceof SessionError ? error : new UnauthenticatedError();
    }
  }

  /** passport-jwt's verify callback, once jsonwebtoken has verified the signature, `iss` and `aud`. */
  validate(job: Verification, decoded: DecodedJwt): AccessClaims {
    return checkClaims(this.options, decoded, job.nowMs, job.allowExpired);
  }

  /**
   * Passport binds its success and failure actions onto the strategy object it is given, so each
   * verification gets its own object derived from this one: concurrent ones never answer each other.
   */
  private throughPassport(job: Verification): Promise<AccessClaims> {
    return new Promise((resolve, reject) => {
      const done = (error: unknown, claims: AccessClaims | false) => (error || !claims ? reject(error ?? new UnauthenticatedError()) : resolve(claims));
      privateRegistry.authenticate(Object.create(this) as Strategy, { session: false }, done)(job, {}, reject);
    });
  }

  private async verifyEdDsa(job: Verification): Promise<AccessClaims> {
    const { protectedHeader, payload } = await compactVerify(job.token, job.key.verifyKey, { algorithms: ['EdDSA'] });
    const claims: unknown = JSON.parse(Buffer.from(payload).toString('utf8'));
    if (!isIssuedForUs(claims, this.options)) throw new UnauthenticatedError();
    return this.validate(job, { header: protectedHeader as Record<string, unknown>, payload: claims });
  }
}
