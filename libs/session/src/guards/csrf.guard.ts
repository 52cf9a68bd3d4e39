import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RESOLVED_SESSION_OPTIONS, SKIP_CSRF_KEY } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { CsrfRejectedError, UnauthenticatedError } from '../errors/session-error';
import { readCookie } from '../http/cookies';
import type { RequestLike } from '../http/http-types';
import { AccessTokenService } from '../tokens/access-token';
import { parseRefreshToken } from '../tokens/refresh-token';
import { verifyCsrfToken } from '../tokens/csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF protection for requests authenticated by cookie. Safe methods, `@SkipCsrf()` routes and
 * requests that carry no auth cookie (bearer clients) pass. Otherwise the request must come from
 * our origin (Fetch Metadata, else `Origin`) and carry, in `x-csrf-token`, the signed
 * double-submit token of the session its cookies belong to. It reads the session from the
 * cookies itself, so it works before or after `SessionGuard`.
 *
 * @example
 * providers: [{ provide: APP_GUARD, useExisting: CsrfGuard }]
 */
@Injectable()
export class CsrfGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly accessTokens: AccessTokenService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<RequestLike & { protocol?: string }>();
    if (SAFE_METHODS.has((req.method ?? 'GET').toUpperCase())) return true;
    if (this.reflector.getAllAndOverride<boolean>(SKIP_CSRF_KEY, [context.getHandler(), context.getClass()])) return true;
    const sessionIds = this.cookieSessionIds(req);
    if (sessionIds === null) return true;
    if (!this.fromAllowedOrigin(req)) throw new CsrfRejectedError();
    const token = req.headers['x-csrf-token'];
    if (typeof token !== 'string' || !sessionIds.some((sid) => verifyCsrfToken(this.options.csrfKey, sid, token))) {
      throw new CsrfRejectedError();
    }
    return true;
  }

  /** Session ids the request's auth cookies name, or null when it carries no auth cookie. */
  private cookieSessionIds(req: RequestLike): string[] | null {
    const { accessName, refreshName } = this.options.cookies;
    const access = readCookie(req, accessName);
    const refresh = readCookie(req, refreshName);
    if (access.status === 'absent' && refresh.status === 'absent') return null;
    // Duplicate or look-alike auth cookies are an authentication failure, whatever the route.
    if (access.status === 'conflict' || refresh.status === 'conflict') throw new UnauthenticatedError();
    const ids: string[] = [];
    if (access.status === 'ok') {
      try {
        ids.push(this.accessTokens.verify(access.value, Date.now(), true).sid);
      } catch {
        // An access cookie that does not verify names no session; the token check then fails.
      }
    }
    if (refresh.status === 'ok') {
      const parsed = parseRefreshToken(refresh.value);
      if (parsed) ids.push(parsed.sessionId);
    }
    return ids;
  }

  private fromAllowedOrigin(req: RequestLike & { protocol?: string }): boolean {
    const site = req.headers['sec-fetch-site'];
    const origin = req.headers.origin ?? refererOrigin(req.headers.referer);
    const allowed = (o: string) => o === this.ownOrigin(req) || this.options.csrf.trustedOrigins.has(o);
    if (site === 'cross-site') return false;
    if (site === 'same-site') return origin !== undefined && allowed(origin);
    // same-origin, none, or no Fetch Metadata: an Origin (else Referer) that is present must be ours.
    // With neither (curl, server-side callers) the token decides.
    return origin === undefined || allowed(origin);
  }

  private ownOrigin(req: RequestLike & { protocol?: string }): string | null {
    if (this.options.csrf.appOrigin) return this.options.csrf.appOrigin;
    const host = req.headers.host;
    if (!host) return null;
    return `${req.protocol ?? 'http'}://${host}`;
  }
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return 'null';
  }
}
