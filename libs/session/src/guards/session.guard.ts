import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { LRUCache } from 'lru-cache';
import { IS_PUBLIC_KEY, REQUEST_ACCESS_TOKEN, REQUEST_SESSION, RESOLVED_SESSION_OPTIONS, SESSION_JWT_STRATEGY } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { AccessTokenExpiredError, SessionError, UnauthenticatedError } from '../errors/session-error';
import { findAccessToken } from '../http/access-token-source';
import { isExpired, isWellFormedJwt, type AccessClaims } from '../tokens/access-token';
import { SessionService, toAuthenticated } from '../session.service';

/**
 * Authenticates a request by its access token (cookie or `Authorization: Bearer`) through the
 * passport-jwt strategy, then, in strict mode, checks that the session is still open.
 *
 * A bounded cache of verified tokens (keyed by the whole token, `exp` re-checked on every hit)
 * answers repeat requests without passport; revocation is still checked on every request in
 * strict mode, so the cache never hides a logout.
 *
 * @example
 * @UseGuards(SessionGuard)
 * @Get('me') me(@CurrentUser() user: SessionUser) { return user; }
 */
@Injectable()
export class SessionGuard extends AuthGuard(SESSION_JWT_STRATEGY) {
  private readonly verified: LRUCache<string, AccessClaims> | null;

  constructor(
    private readonly reflector: Reflector,
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly sessionOptions: ResolvedSessionOptions,
    private readonly sessions: SessionService,
  ) {
    super();
    const max = sessionOptions.verifiedTokenCacheSize;
    this.verified = max > 0 ? new LRUCache<string, AccessClaims>({ max }) : null;
  }

  /**
   * Synchronous on the hot path (a cached token, and a session the liveness cache vouches for or
   * stateless mode): no promise, no passport. A miss goes through passport and, in strict mode,
   * the session store.
   */
  override canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.isPublic(context)) return true;
    const req = context.switchToHttp().getRequest<GuardedRequest>();
    const source = findAccessToken(req, this.sessionOptions.cookies.accessName);
    if (!source || !isWellFormedJwt(source.token)) throw new UnauthenticatedError();
    const claims = this.verified?.get(source.token);
    if (claims) {
      if (isExpired(claims, Date.now(), this.sessionOptions.clockSkew)) throw new AccessTokenExpiredError();
      if (this.sessions.isKnownLive(claims)) return this.admit(req, claims, source.via);
      return this.sessions.assertLive(claims).then(() => this.admit(req, claims, source.via));
    }
    return this.verifyThenAdmit(context, req, source.token, source.via);
  }

  private async verifyThenAdmit(context: ExecutionContext, req: GuardedRequest, token: string, via: 'cookie' | 'bearer'): Promise<boolean> {
    req[REQUEST_ACCESS_TOKEN] = token;
    try {
      await super.canActivate(context);
    } finally {
      delete req[REQUEST_ACCESS_TOKEN];
    }
    // Frozen: the cached claims are shared by every later request with this token.
    const claims = deepFreeze(req.user as AccessClaims);
    this.verified?.set(token, claims);
    await this.sessions.assertLive(claims);
    return this.admit(req, claims, via);
  }

  private admit(req: GuardedRequest, claims: AccessClaims, via: 'cookie' | 'bearer'): true {
    const { user, session } = toAuthenticated(claims, via);
    req.user = user;
    req[REQUEST_SESSION] = session;
    return true;
  }

  /** Never tells the client which check failed; library errors keep their stable code. */
  override handleRequest<T>(err: unknown, user: T): T {
    if (err instanceof SessionError) throw err;
    if (err || !user) throw new UnauthenticatedError();
    return user;
  }

  /** Override to skip more routes; the default honours `@Public()`. */
  protected isPublic(context: ExecutionContext): boolean {
    return !!this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [context.getHandler(), context.getClass()]);
  }
}

type GuardedRequest = Record<string, unknown> & Parameters<typeof findAccessToken>[0];

function deepFreeze(claims: AccessClaims): AccessClaims {
  Object.freeze(claims.roles);
  return Object.freeze(claims);
}
