import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req, Res, SetMetadata, UseGuards, VERSION_NEUTRAL, type Type } from '@nestjs/common';
import { CSRF_LENIENT_COOKIES_KEY } from './session.constants';
import { CsrfGuard } from './guards/csrf.guard';
import { isSessionId } from './tokens/refresh-token';
import { SessionService } from './session.service';
import { SessionGuard } from './guards/session.guard';
import { Public } from './decorators/public.decorator';
import { CurrentSession } from './decorators/current-session.decorator';
import { CurrentUser } from './decorators/current-user.decorator';
import { SessionHttp } from './http/session-http';
import { SessionCredentials } from './http/session-credentials';
import type { RequestLike, ResponseLike } from './http/http-types';
import { CsrfRejectedError, NotFoundError, SessionError, UnauthenticatedError } from './errors/session-error';
import type { SessionInfo, SessionUser, UserId } from './session.types';

/**
 * Builds the refresh controller under the configured route prefix (default `auth`):
 * `POST refresh`, `POST logout`, `POST logout-all`, `GET sessions`, `DELETE sessions/:id`,
 * `GET csrf`. Only POST changes state, so GET or HEAD on refresh or logout is a 404. The routes
 * carry `CsrfGuard` themselves, so they are protected whether or not the app binds it globally.
 * Version-neutral, so URI versioning never moves them away from the refresh cookie's path.
 */
export function createSessionController(prefix: string): Type<unknown> {
  @Controller({ path: prefix, version: VERSION_NEUTRAL })
  @UseGuards(CsrfGuard)
  class SessionController {
    constructor(
      private readonly sessions: SessionService,
      private readonly http: SessionHttp,
      private readonly credentials: SessionCredentials,
      private readonly csrf: CsrfGuard,
    ) {}

    @Public()
    @Post('refresh')
    @HttpCode(200)
    async refresh(@Req() req: RequestLike, @Res({ passthrough: true }) res: ResponseLike, @Body() body: unknown) {
      this.http.noStore(res);
      const presented = this.credentials.refreshToken(req, body);
      if (!presented) throw new UnauthenticatedError();
      try {
        const grant = await this.http.edge(() => this.sessions.refresh(presented));
        const { sessionExpiresAt: _e, ...visible } = this.http.send(res, grant);
        return visible;
      } catch (error) {
        // A refresh that fails for good leaves the browser with nothing stale to resend.
        if (presented.via === 'cookie' && error instanceof SessionError && error.getStatus() === 401) this.http.clear(res, false);
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
    async logout(@Req() req: RequestLike, @Res({ passthrough: true }) res: ResponseLike, @Body() body: unknown) {
      if (!this.csrf.isAllowedOrigin(req)) throw new CsrfRejectedError();
      const presented = attempt(() => this.credentials.refreshToken(req, body));
      const accessToken = attempt(() => this.credentials.accessToken(req)?.token ?? null);
      let ended: string | null = null;
      try {
        ended = await this.http.edge(() => this.sessions.logout(presented, accessToken));
      } finally {
        // Clear-Site-Data wipes every cookie of the site: only for a session that was proven.
        this.http.clear(res, ended !== null);
      }
    }

    @Post('logout-all')
    @UseGuards(SessionGuard)
    @HttpCode(204)
    async logoutAll(@CurrentUser() user: SessionUser<UserId>, @Res({ passthrough: true }) res: ResponseLike) {
      await this.http.edge(() => this.sessions.revokeAllForUser(user.id, 'logout_all'));
      this.http.clear(res);
    }

    @Get('sessions')
    @UseGuards(SessionGuard)
    async list(@CurrentUser() user: SessionUser<UserId>, @CurrentSession() session: SessionInfo, @Res({ passthrough: true }) res: ResponseLike) {
      this.http.noStore(res);
      return this.http.edge(() => this.sessions.listForUser(user.id, session.id));
    }

    @Delete('sessions/:id')
    @UseGuards(SessionGuard)
    @HttpCode(204)
    async revokeOne(
      @Param('id') id: string,
      @CurrentUser() user: SessionUser<UserId>,
      @CurrentSession() session: SessionInfo,
      @Res({ passthrough: true }) res: ResponseLike,
    ) {
      if (!isSessionId(id)) throw new NotFoundError();
      if (!(await this.http.edge(() => this.sessions.revoke(id, 'revoked', user.id)))) throw new NotFoundError();
      if (id === session.id && session.tokenSource === 'cookie') this.http.clear(res, false);
    }

    @Get('csrf')
    @UseGuards(SessionGuard)
    async csrfToken(@CurrentSession() session: SessionInfo, @Res({ passthrough: true }) res: ResponseLike) {
      const csrfToken = this.sessions.csrfTokenFor(session.id);
      if (session.tokenSource === 'cookie') {
        this.http.sendCsrf(res, csrfToken, await this.http.edge(() => this.sessions.sessionExpiresAt(session.id)));
      }
      this.http.noStore(res);
      return { csrfToken };
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
