import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Req, Res, SetMetadata, UseGuards, type Type } from '@nestjs/common';
import { CSRF_LENIENT_COOKIES_KEY, RESOLVED_SESSION_OPTIONS } from './session.constants';
import { CsrfGuard } from './guards/csrf.guard';
import { isSessionId } from './tokens/refresh-token';
import type { ResolvedSessionOptions } from './resolve-options';
import { SessionService, type PresentedRefreshToken } from './session.service';
import { SessionGuard } from './guards/session.guard';
import { Public } from './decorators/public.decorator';
import { CurrentSession } from './decorators/current-session.decorator';
import { CurrentUser } from './decorators/current-user.decorator';
import { SessionCookies, noStore } from './http/session-cookies';
import { readCookie } from './http/cookies';
import { findAccessToken } from './http/access-token-source';
import type { RequestLike, ResponseLike } from './http/http-types';
import { CsrfRejectedError, NotFoundError, SessionError, UnauthenticatedError } from './errors/session-error';
import type { SessionInfo, SessionUser } from './session.types';

/**
 * Builds the refresh controller under the configured route prefix (default `auth`):
 * `POST refresh`, `POST logout`, `POST logout-all`, `GET sessions`, `DELETE sessions/:id`,
 * `GET csrf`. Only POST changes state, so GET or HEAD on refresh or logout is a 404. The routes
 * carry `CsrfGuard` themselves, so they are protected whether or not the app binds it globally.
 */
export function createSessionController(prefix: string): Type<unknown> {
  @Controller(prefix)
  @UseGuards(CsrfGuard)
  class SessionController {
    constructor(
      private readonly sessions: SessionService,
      private readonly cookies: SessionCookies,
      private readonly csrf: CsrfGuard,
      @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    ) {}

    @Public()
    @Post('refresh')
    @HttpCode(200)
    async refresh(@Req() req: RequestLike, @Res({ passthrough: true }) res: ResponseLike, @Body() body: unknown) {
      noStore(res);
      const presented = this.presentedRefreshToken(req, body);
      if (!presented) throw new UnauthenticatedError();
      try {
        const grant = await this.sessions.refresh(presented, res);
        const { sessionId: _sid, transport: _t, sessionExpiresAt: _e, ...visible } = grant;
        return visible;
      } catch (error) {
        // A refresh that fails for good leaves the browser with nothing stale to resend.
        if (presented.via === 'cookie' && error instanceof SessionError && error.getStatus() === 401) {
          this.cookies.clear(res, false);
        }
        throw error;
      }
    }

    /**
     * Always clears the cookies and answers 204, whatever credential it is given, so a planted or
     * stale cookie can never keep a user signed in. Requests started by another site are refused
     * first: they could otherwise sign users out, and `Clear-Site-Data` clears the whole site.
     */
    @Public()
    @Post('logout')
    @HttpCode(204)
    @SetMetadata(CSRF_LENIENT_COOKIES_KEY, true)
    async logout(@Req() req: RequestLike & { protocol?: string }, @Res({ passthrough: true }) res: ResponseLike, @Body() body: unknown) {
      if (!this.csrf.isAllowedOrigin(req)) throw new CsrfRejectedError();
      const presented = attempt(() => this.presentedRefreshToken(req, body));
      const accessToken = attempt(() => findAccessToken(req, this.options.cookies.accessName)?.token ?? null);
      let ended: string | null = null;
      try {
        ended = await this.sessions.logout(presented, accessToken);
      } finally {
        // Clear-Site-Data wipes every cookie of the site: only for a session that was proven.
        this.cookies.clear(res, ended !== null && this.options.clearSiteData);
      }
    }

    @Post('logout-all')
    @UseGuards(SessionGuard)
    @HttpCode(204)
    async logoutAll(@CurrentUser() user: SessionUser, @Res({ passthrough: true }) res: ResponseLike) {
      await this.sessions.revokeAllForUser(user.id, 'logout_all');
      this.cookies.clear(res);
    }

    @Get('sessions')
    @UseGuards(SessionGuard)
    async list(@CurrentUser() user: SessionUser, @CurrentSession() session: SessionInfo, @Res({ passthrough: true }) res: ResponseLike) {
      noStore(res);
      return this.sessions.listForUser(user.id, session.id);
    }

    @Delete('sessions/:id')
    @UseGuards(SessionGuard)
    @HttpCode(204)
    async revokeOne(
      @Param('id') id: string,
      @CurrentUser() user: SessionUser,
      @CurrentSession() session: SessionInfo,
      @Res({ passthrough: true }) res: ResponseLike,
    ) {
      if (!isSessionId(id)) throw new NotFoundError();
      if (!(await this.sessions.revoke(id, 'revoked', user.id))) throw new NotFoundError();
      if (id === session.id && session.tokenSource === 'cookie') this.cookies.clear(res, false);
    }

    @Get('csrf')
    @UseGuards(SessionGuard)
    async csrfToken(@CurrentSession() session: SessionInfo, @Res({ passthrough: true }) res: ResponseLike) {
      const csrfToken = this.sessions.csrfTokenFor(session.id);
      if (session.tokenSource === 'cookie') {
        this.cookies.writeCsrf(res, csrfToken, await this.sessions.sessionExpiresAt(session.id), Date.now());
      }
      noStore(res);
      return { csrfToken };
    }

    /** The refresh cookie, or `{ refreshToken }` from a bearer client; both at once is refused. */
    private presentedRefreshToken(req: RequestLike, body: unknown): PresentedRefreshToken | null {
      const cookie = readCookie(req, this.options.cookies.refreshName);
      if (cookie.status === 'conflict') throw new UnauthenticatedError();
      const fromBody = body && typeof body === 'object' ? (body as Record<string, unknown>).refreshToken : undefined;
      if (fromBody !== undefined && typeof fromBody !== 'string') throw new UnauthenticatedError();
      if (fromBody !== undefined && cookie.status === 'ok') throw new UnauthenticatedError();
      if (cookie.status === 'ok') return { token: cookie.value, via: 'cookie' };
      return fromBody !== undefined ? { token: fromBody, via: 'body' } : null;
    }
  }
  return SessionController;
}

/** The value, or null when reading it throws (a conflicting cookie proves nothing). */
function attempt<T>(read: () => T | null): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}
