import { CanActivate, ExecutionContext, Inject, Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { IS_PUBLIC_KEY, MAX_TOKEN_BYTES, RESOLVED_SESSION_OPTIONS } from '../session.constants';
import { setRequestSession } from '../http/request-session';
import type { ResolvedSessionOptions } from '../resolve-options';
import { AccessTokenExpiredError, SessionError, UnauthenticatedError, toHttpError } from '../errors/session-error';
import type { AccessTokenSource } from '../http/access-token-source';
import { SessionCredentials } from '../http/session-credentials';
import type { RequestLike } from '../http/http-types';
import { requestOfContext } from '../http/request-of-context';
import { sessionErrorFor } from '../graphql/session-graphql-error';
import { isExpired, isWellFormedJwt, type AccessClaims } from '../tokens/access-claims';
import { SessionService } from '../session.service';
import { authenticatedFrom } from '../authenticated-session';
import { SessionJwtStrategy } from './jwt.strategy';
import { VerifiedToken, VerifiedTokenCache } from './verified-token-cache';
import { DpopProofs } from '../dpop/dpop-proofs';
import { SessionTelemetry, type GuardCache } from '../telemetry/session-telemetry';

/** The request as the guard sees it: where it leaves `user` and the session for the handler. */
export type GuardedRequest = RequestLike & Record<string, unknown>;

/**
 * Authenticates a request by its access token (cookie or `Authorization: Bearer`) through this
 * module's passport-jwt strategy, then, in strict mode, checks that the session is still open.
 *
 * A bounded cache of verified tokens (keyed by the whole token, `exp` re-checked on every hit)
 * answers repeat requests without passport; revocation is still checked on every request in
 * strict mode, so the cache never hides a logout.
 *
 * Works on HTTP routes and on GraphQL resolvers (`@nestjs/graphql`: the request is the GraphQL
 * context's `req`, or `request` with Mercurius); in a resolver a failure is a
 * `SessionGraphQLError` whose `extensions.code` is the stable code.
 *
 * Built to extend, like `@nestjs/throttler`'s guard: override `getRequest` (where the request
 * is: WebSockets, a custom GraphQL context), `findToken` (where the token is) and `fail` (what a
 * failure throws).
 *
 * @example
 * @UseGuards(SessionGuard)
 * @Get('me') me(@CurrentUser() user: SessionUser) { return user; }
 *
 * @example
 * @Resolver() @UseGuards(SessionGuard)
 * export class MeResolver { @Query(() => Me) me(@CurrentUser() user: SessionUser) { ... } }
 */
@Injectable()
export class SessionGuard implements CanActivate, OnModuleInit {
  private readonly verified: VerifiedTokenCache | null;
  /** Every bearer token needs a DPoP proof (`dpop: 'required'`). */
  private readonly dpopRequired: boolean;
  /** A property, not a constructor parameter, so guards that extend this one keep their constructors. */
  @Optional() @Inject(DpopProofs) private readonly dpop?: DpopProofs;
  @Optional() @Inject(SessionTelemetry) private readonly telemetry?: SessionTelemetry;

  constructor(
    protected readonly reflector: Reflector,
    @Inject(RESOLVED_SESSION_OPTIONS) protected readonly options: ResolvedSessionOptions,
    protected readonly sessions: SessionService,
    protected readonly credentials: SessionCredentials,
    protected readonly strategy: SessionJwtStrategy,
  ) {
    const max = options.verifiedTokenCacheSize;
    this.verified = max > 0 ? new VerifiedTokenCache(max, options.clockSkewMs / 1000) : null;
    this.dpopRequired = options.dpop === 'required';
  }

  /** Its cache's size joins `nest_sessions.cache.size` (each guard instance has its own cache). */
  onModuleInit(): void {
    if (this.verified) this.telemetry?.watchCache('token', this.verified, (cache) => cache.size);
  }

  /**
   * Synchronous on the hot path (a cached token, and a session the liveness cache vouches for or
   * stateless mode): no promise, no passport. A miss goes through passport and, in strict mode,
   * the session store.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.isPublic(context)) return true;
    return this.authenticate(context);
  }

  /**
   * `canActivate` without the `@Public()` check: what `AnyGuard` runs, where `@Public()` on the
   * route only exempts it from a global `SessionGuard` (a key-only request must get past that one)
   * while the composed guard still has to authenticate someone.
   */
  authenticate(context: ExecutionContext): boolean | Promise<boolean> {
    const req = this.getRequest(context);
    let source: AccessTokenSource | null;
    try {
      source = this.findToken(req, context);
    } catch (error) {
      return this.refuse(error, context, 'none');
    }
    if (!source) return this.refuse(new UnauthenticatedError(), context, 'none');
    const token = source.token;
    // A cached token is well formed (it verified): the size check bounds the lookup's hashing,
    // the shape check waits for a miss. The key is the whole token, so a hit is that exact token.
    const cached = token.length <= MAX_TOKEN_BYTES ? this.verified?.get(token) : undefined;
    if (cached) {
      if (isExpired(cached, Date.now(), this.options.clockSkewMs / 1000)) return this.refuse(new AccessTokenExpiredError(), context, 'hit');
      if (this.needsProof(source, cached.jkt)) return this.timed(() => this.proveThenAdmit(req, source, cached, context), context, 'proof');
      // `isKnownLive` and `assertLive` read `sid` and `sub` only, which the entry keeps.
      const live = cached as unknown as AccessClaims;
      if (this.sessions.isKnownLive(live)) {
        this.telemetry?.guardDecided('hit', null);
        return this.admit(req, cached, source.via);
      }
      const via = source.via;
      return this.timed(() => this.sessions.assertLive(live).then(() => this.admit(req, cached, via)), context, 'session_miss');
    }
    if (!isWellFormedJwt(token)) return this.refuse(new UnauthenticatedError(), context, 'miss');
    return this.timed(() => this.verifyThenAdmit(req, source, context), context, 'miss');
  }

  /** A decision the caches did not answer alone: counted with its time, a failure through `fail`. */
  private timed(decide: () => Promise<true>, context: ExecutionContext, cache: GuardCache): Promise<boolean> {
    const started = performance.now();
    return decide().then(
      (admitted) => {
        this.telemetry?.guardDecided(cache, null, (performance.now() - started) / 1000);
        return admitted;
      },
      (error: unknown) => {
        this.telemetry?.guardDecided(cache, codeOf(error), (performance.now() - started) / 1000);
        return this.fail(error, context);
      },
    );
  }

  private refuse(error: unknown, context: ExecutionContext, cache: GuardCache): never {
    this.telemetry?.guardDecided(cache, codeOf(error));
    return this.fail(error, context);
  }

  /**
   * Where the request is: the HTTP request, or a GraphQL context's `req` (see
   * `requestOfContext`). A context without one gets an empty request, which carries no token.
   * Override for WebSockets or a GraphQL context that keeps the request elsewhere.
   */
  protected getRequest(context: ExecutionContext): GuardedRequest {
    return requestOfContext<GuardedRequest>(context) ?? { headers: {} };
  }

  /**
   * Where the access token is: the access cookie or `Authorization: Bearer` by default (never a
   * query string). Override to read a WebSocket handshake, for example; return null for none.
   */
  protected findToken(req: GuardedRequest, _context: ExecutionContext): AccessTokenSource | null {
    return this.credentials.accessToken(req);
  }

  /**
   * What a failure throws. Library errors keep their stable code; a store failure is a 503; any
   * other error is a plain 401 that never says which check failed. In a GraphQL resolver the
   * error is a `SessionGraphQLError` (`extensions.code`). Override to map them for WebSockets
   * (`WsException`), for example.
   */
  protected fail(error: unknown, context: ExecutionContext): never {
    this.dpop?.challenge(context, error);
    const mapped = toHttpError(error);
    throw sessionErrorFor(mapped instanceof SessionError ? mapped : new UnauthenticatedError(), context);
  }

  /** Override to skip more routes; the default honours `@Public()`. */
  protected isPublic(context: ExecutionContext): boolean {
    return !!this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [context.getHandler(), context.getClass()]);
  }

  private async verifyThenAdmit(req: GuardedRequest, source: AccessTokenSource, context: ExecutionContext): Promise<true> {
    // A failure here reaches `fail`, which keeps library codes and makes anything else a plain 401.
    const claims = await this.strategy.verifyToken(source.token, Date.now());
    const entry = this.verified?.set(source.token, claims);
    const jkt = claims.cnf?.jkt ?? null;
    if (this.needsProof(source, jkt)) await this.assertBinding(req, source, jkt, context);
    await this.sessions.assertLive(claims);
    return this.admit(req, entry ?? VerifiedToken.of(claims), source.via);
  }

  /** A DPoP-bound token, a token presented as `DPoP`, or any bearer token when DPoP is required. */
  private needsProof(source: AccessTokenSource, jkt: string | null): boolean {
    return jkt !== null || source.dpop === true || (this.dpopRequired && source.via === 'bearer');
  }

  private async proveThenAdmit(req: GuardedRequest, source: AccessTokenSource, cached: VerifiedToken, context: ExecutionContext): Promise<true> {
    await this.assertBinding(req, source, cached.jkt, context);
    await this.sessions.assertLive(cached as unknown as AccessClaims);
    return this.admit(req, cached, source.via);
  }

  private async assertBinding(req: GuardedRequest, source: AccessTokenSource, jkt: string | null, context: ExecutionContext): Promise<void> {
    if (!this.dpop) throw new UnauthenticatedError();
    await this.dpop.assertBinding(req, source.token, jkt, source.dpop === true);
    if (jkt !== null) this.dpop.nextNonce(context);
  }

  /** Leaves the user and the session on the request, as `toAuthenticated` shapes them, from the cached entry. */
  private admit(req: GuardedRequest, token: VerifiedToken, via: 'cookie' | 'bearer'): true {
    const { user, session } = authenticatedFrom(token, via);
    req.user = user;
    setRequestSession(req, session);
    return true;
  }
}

/** The stable code a refusal answers with (what `fail` maps it to). */
function codeOf(error: unknown): string {
  const mapped = toHttpError(error);
  return mapped instanceof SessionError ? mapped.code : 'UNAUTHENTICATED';
}
