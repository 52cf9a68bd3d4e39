import { CanActivate, ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CSRF_LENIENT_COOKIES_KEY, RESOLVED_SESSION_OPTIONS, SKIP_CSRF_KEY } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { CsrfRejectedError, UnauthenticatedError } from '../errors/session-error';
import { readCookie, type CookieRead } from '../http/cookies';
import type { RequestLike } from '../http/http-types';
import { isAllowedOrigin } from '../http/request-origin';
import { contextTypeOf, graphqlInfoOf, requestOfContext } from '../http/request-of-context';
import { sessionErrorFor } from '../graphql/session-graphql-error';
import { AccessTokenService } from '../tokens/access-token';
import { parseRefreshToken } from '../tokens/refresh-token';
import { verifyCsrfToken } from '../tokens/csrf-token';
import { SessionEvents } from '../events/session-events';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The two auth cookies as the request carries them. */
interface AuthCookies {
  access: CookieRead;
  refresh: CookieRead;
}

/**
 * Requests a guard class has already checked and let through. An app that binds the guard
 * globally and a controller that binds it too (the refresh route) would otherwise check, and
 * verify the access cookie, twice; the verdict cannot change within one request. Per class: a
 * stricter subclass bound beside the global guard still checks for itself.
 */
const checked = new WeakMap<object, Set<Function>>();

/**
 * CSRF protection for requests authenticated by cookie. Safe methods, `@SkipCsrf()` routes and
 * requests that carry no auth cookie (bearer clients) pass. Otherwise the request must come from
 * our origin (Fetch Metadata, else `Origin`/`Referer`) and carry, in `x-csrf-token`, the signed
 * double-submit token of the one session its cookies authenticate: the access cookie's session
 * when it verifies, else the refresh cookie's. It reads the cookies itself, so it works before
 * or after `SessionGuard`. Like `SessionGuard`, it is built to extend: `getRequest` and `fail`
 * are protected hooks.
 *
 * GraphQL (`@nestjs/graphql`): mutations are the unsafe requests (queries are safe, whatever the
 * HTTP method), checked the same way on the GraphQL context's request; a refusal is a
 * `SessionGraphQLError` with `extensions.code` `CSRF_REJECTED`. Other contexts (`ws`, `rpc`) pass.
 *
 * @example
 * providers: [{ provide: APP_GUARD, useExisting: CsrfGuard }]
 */
@Injectable()
export class CsrfGuard implements CanActivate {
  // A property, so that subclasses' constructors (reflector, options, accessTokens) stay as they are.
  @Optional() @Inject(SessionEvents) private readonly events?: SessionEvents;

  constructor(
    protected readonly reflector: Reflector,
    @Inject(RESOLVED_SESSION_OPTIONS) protected readonly options: ResolvedSessionOptions,
    protected readonly accessTokens: AccessTokenService,
  ) {}

  /**
   * Synchronous for every request it lets through unread (safe methods, `@SkipCsrf()`, no auth
   * cookie); a promise when an access cookie has to be verified to learn its session.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const type = contextTypeOf(context);
    if (type !== 'http' && type !== 'graphql') return true;
    const req = this.getRequest(context);
    if (checked.get(req)?.has(this.constructor)) return true;
    if (type === 'graphql' ? !isUnsafeOperation(context) : SAFE_METHODS.has((req.method ?? 'GET').toUpperCase())) return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(SKIP_CSRF_KEY, targets)) return true;
    const { accessName, refreshName } = this.options.cookies;
    const cookies = { access: readCookie(req, accessName), refresh: readCookie(req, refreshName) };
    if (cookies.access.status === 'absent' && cookies.refresh.status === 'absent') return true;
    const lenient = !!this.reflector.getAllAndOverride<boolean>(CSRF_LENIENT_COOKIES_KEY, targets);
    return this.checkCookieRequest(req, context, cookies, lenient);
  }

  /**
   * For a route that checks the origin itself (logout, which takes any cookie): throws
   * `CsrfRejectedError` for a request another site started, and records it like the guard does.
   */
  assertAllowedOrigin(req: RequestLike, route: string): void {
    if (this.isAllowedOrigin(req)) return;
    this.rejected(null, route);
    throw new CsrfRejectedError();
  }

  private rejected(sessionId: string | null, route: string): void {
    this.events?.emit('csrf_rejected', { sessionId, at: new Date(), route });
  }

  /**
   * True unless the request was started by another site (see `isAllowedOrigin` in
   * `http/request-origin.ts`): Fetch Metadata, else `Origin` or `Referer` against the app's own
   * origin and `trustedOrigins`. `LoginCsrfGuard` uses it against login CSRF.
   */
  isAllowedOrigin(req: RequestLike): boolean {
    return isAllowedOrigin(req, this.options.csrf);
  }

  /** Where the request is: the HTTP request, or a GraphQL context's `req` (none: no cookies). */
  protected getRequest(context: ExecutionContext): RequestLike {
    return requestOfContext<RequestLike>(context) ?? { headers: {} };
  }

  /**
   * What a refusal throws (`CSRF_REJECTED` 403, or 401 for conflicting cookies); in a GraphQL
   * resolver, as a `SessionGraphQLError`.
   */
  protected fail(error: unknown, context: ExecutionContext): never {
    throw sessionErrorFor(error, context);
  }

  /** An unsafe request that carries an auth cookie: our origin, and the CSRF token of the session its cookies name. */
  private async checkCookieRequest(req: RequestLike, context: ExecutionContext, cookies: AuthCookies, lenient: boolean): Promise<boolean> {
    let sessionId: string | null = null;
    try {
      sessionId = await this.cookieSession(cookies, lenient);
      // A lenient route (logout) whose cookies all conflict names no session: it can only clear
      // cookies, and a planted pair must not stop a user from doing that (the route refuses
      // cross-site requests itself).
      if (lenient && sessionId === null) return true;
      if (!this.isAllowedOrigin(req)) throw new CsrfRejectedError();
      const token = req.headers['x-csrf-token'];
      const sid = sessionId;
      if (!sid || typeof token !== 'string' || !this.options.csrfKeys.some((key) => verifyCsrfToken(key, sid, token))) {
        throw new CsrfRejectedError();
      }
      const classes = checked.get(req) ?? new Set<Function>();
      checked.set(req, classes.add(this.constructor));
    } catch (error) {
      if (error instanceof CsrfRejectedError) this.rejected(sessionId, `${context.getClass().name}.${context.getHandler().name}`);
      return this.fail(error, context);
    }
    return true;
  }

  /**
   * The session the request's auth cookies authenticate (null: none). Cookies naming two
   * different sessions are refused: a sibling subdomain could plant one of them. Duplicate or
   * look-alike cookies are a 401, except on `lenient` routes (logout), which ignore the
   * conflicting cookie so that a planted one cannot stop a user from logging out.
   */
  private async cookieSession({ access, refresh }: AuthCookies, lenient: boolean): Promise<string | null> {
    if (!lenient && (access.status === 'conflict' || refresh.status === 'conflict')) throw new UnauthenticatedError();
    // An access cookie that does not verify names no session.
    const accessSid = access.status === 'ok' ? await this.accessTokens.sessionIdOf(access.value, Date.now()) : null;
    const refreshSid = refresh.status === 'ok' ? (parseRefreshToken(refresh.value)?.sessionId ?? null) : null;
    if (accessSid && refreshSid && accessSid !== refreshSid) throw new CsrfRejectedError();
    return accessSid ?? refreshSid;
  }
}

/**
 * A GraphQL mutation (or anything but a query: a subscription over HTTP is refused the same way).
 * Without an operation to read, the resolver call counts as unsafe.
 */
function isUnsafeOperation(context: ExecutionContext): boolean {
  return graphqlInfoOf(context)?.operation?.operation !== 'query';
}
