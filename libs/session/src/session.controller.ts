import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req, Res, SetMetadata, UseFilters, UseGuards, VERSION_NEUTRAL, type Type } from '@nestjs/common';
import { SessionExceptionFilter } from './http/session-exception.filter';
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
import { DeviceProofRequiredError, NotFoundError, RateLimitedError, SessionError, UnauthenticatedError } from './errors/session-error';
import type { SessionInfo, SessionUser, UserId } from './session.types';
import { ApiRoute, ApiTagged, GUARD_401_CODES } from './openapi/api-docs';
import type { OpenApiSchema } from './openapi/session-openapi';

// OpenAPI descriptions of the routes (applied only when the app has `@nestjs/swagger`).
const DATE_TIME: OpenApiSchema = { type: 'string', format: 'date-time' };
const CSRF_HEADER = {
  name: 'x-csrf-token',
  required: false,
  description: 'The CSRF token (from login, refresh, GET csrf or the CSRF cookie): required when the request carries an auth cookie.',
  schema: { type: 'string' },
} as const;
const UNAVAILABLE = { 503: ['SERVICE_UNAVAILABLE'] } as const;
const REFRESHED: OpenApiSchema = {
  type: 'object',
  required: ['csrfToken', 'accessTokenExpiresAt'],
  properties: {
    csrfToken: { type: 'string', description: 'A fresh CSRF token for the session.' },
    accessTokenExpiresAt: DATE_TIME,
    accessToken: { type: 'string', description: 'Bearer transport only: the new access token (a JWT).' },
    refreshToken: { type: 'string', description: 'Bearer transport only, and not after a grace-window retry: the new refresh token.' },
  },
};
const SESSION_ITEM: OpenApiSchema = {
  type: 'object',
  required: ['id', 'createdAt', 'lastSeenAt', 'expiresAt', 'userAgent', 'device', 'ip', 'current'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    createdAt: DATE_TIME,
    lastSeenAt: DATE_TIME,
    expiresAt: DATE_TIME,
    userAgent: { type: 'string', nullable: true },
    device: { type: 'string', nullable: true, description: 'A readable name for the device, such as "Safari on macOS".' },
    ip: { type: 'string', nullable: true },
    current: { type: 'boolean', description: 'The session of this request.' },
  },
};

/**
 * Builds the refresh controller under the configured route prefix (default `auth`):
 * `POST refresh`, `POST logout`, `POST logout-all`, `POST logout-others`, `GET sessions`, `DELETE sessions/:id`,
 * `GET csrf`. Only POST changes state, so GET or HEAD on refresh or logout is a 404. The routes
 * carry `CsrfGuard` themselves, so they are protected whether or not the app binds it globally.
 * Version-neutral, so URI versioning never moves them away from the refresh cookie's path.
 */
export function createSessionController(prefix: string): Type<unknown> {
  @Controller({ path: prefix, version: VERSION_NEUTRAL })
  @UseGuards(CsrfGuard)
  @UseFilters(SessionExceptionFilter)
  @ApiTagged('sessions')
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
    @ApiRoute({
      summary: 'Rotate the refresh token',
      description:
        'Takes the refresh cookie (browsers; then the CSRF token is needed) or `{ refreshToken }` in the body (bearer clients), never both. ' +
        'Answers a new access token (a cookie, or in the body for bearer sessions) and a new refresh token; a replayed old refresh token revokes the session.',
      body: {
        required: false,
        description: 'Bearer clients only; browsers send the refresh cookie and no body.',
        schema: { type: 'object', properties: { refreshToken: { type: 'string', description: '`<session id>.<secret>` from login or the last refresh.' } } },
      },
      headers: [CSRF_HEADER],
      success: { status: 200, description: 'Rotated. Cookie transport: new cookies are set and the tokens are not in the body.', schema: REFRESHED },
      errors: { 401: ['UNAUTHENTICATED', 'SESSION_REVOKED', 'REAUTHENTICATION_REQUIRED', 'DPOP_PROOF_INVALID', 'DPOP_PROOF_REQUIRED', 'DEVICE_PROOF_REQUIRED'], 403: ['CSRF_REJECTED'], 429: ['RATE_LIMITED'], ...UNAVAILABLE },
    })
    async refresh(@Req() req: RequestLike, @Res({ passthrough: true }) res: ResponseLike, @Body() body: unknown) {
      this.http.noStore(res);
      const presented = this.credentials.refreshToken(req, body);
      if (!presented) throw new UnauthenticatedError();
      try {
        const proofKey = presented.via === 'body' ? () => this.http.refreshKeyOf(req, res) : undefined;
        const grant = await this.sessions.refresh(presented, { ip: this.http.clientOf(req).ip, proofKey });
        const { sessionExpiresAt: _e, ...visible } = this.http.send(res, grant);
        return visible;
      } catch (error) {
        // A refresh that fails for good leaves the browser with nothing stale to resend. Not a
        // device-bound session's: the browser refreshes it with its key, and needs its cookies.
        const forGood = error instanceof SessionError && error.getStatus() === 401 && !(error instanceof DeviceProofRequiredError);
        if (presented.via === 'cookie' && forGood) this.http.clear(res, false);
        if (error instanceof RateLimitedError) this.http.retryAfter(res, error.retryAfterSeconds);
        this.http.challenge(res, error);
        throw error;
      }
    }

    /**
     * Always clears the cookies and answers 204, whatever credential it is given, so a planted or
     * stale cookie can never keep a user signed in. Requests with the auth cookies started by
     * another site are refused first: they could otherwise sign users out, and `Clear-Site-Data`
     * clears the whole site.
     */
    @Public()
    @Post('logout')
    @HttpCode(204)
    @ApiRoute({
      summary: 'End this session',
      description:
        'Revokes the session proven by the refresh token (cookie or `{ refreshToken }`) or by a genuine, even expired, access token; ' +
        'clears the auth cookies (a bearer client\'s logout, its refresh token in the body and no cookie, touches none) and answers 204, whatever it is given. ' +
        'Refused only when another site started a request that is not a bearer client\'s, or the CSRF token is wrong.',
      body: {
        required: false,
        description: 'Bearer clients may send their refresh token.',
        schema: { type: 'object', properties: { refreshToken: { type: 'string' } } },
      },
      headers: [CSRF_HEADER],
      success: { status: 204, description: 'Logged out; cookies cleared (`Clear-Site-Data: "cookies"` when a session was proven).' },
      errors: { 403: ['CSRF_REJECTED'], ...UNAVAILABLE },
    })
    @SetMetadata(CSRF_LENIENT_COOKIES_KEY, true)
    async logout(@Req() req: RequestLike, @Res({ passthrough: true }) res: ResponseLike, @Body() body: unknown) {
      const presented = attempt(() => this.credentials.refreshToken(req, body));
      // A bearer client's logout (its refresh token in the body, no auth cookie) proves itself and
      // touches no cookie: a front end on another site may send it. Anything else started by
      // another site is refused: the browser leaves SameSite cookies out of it, and the answer
      // would still clear them (and Clear-Site-Data the whole site).
      const bearer = presented?.via === 'body' && !this.credentials.hasAuthCookie(req);
      if (!bearer) this.csrf.assertAllowedOrigin(req, 'SessionController.logout');
      const access = attempt(() => this.credentials.accessToken(req));
      const accessToken = access?.token ?? null;
      let ended: string | null = null;
      try {
        const jkt = await this.http.logoutKeyOf(req, access?.dpop ? access.token : undefined);
        ended = await this.sessions.logout(presented, accessToken, jkt);
      } finally {
        // Clear-Site-Data wipes every cookie of the site: only for a cookie session that was proven.
        if (bearer) this.http.noStore(res);
        else this.http.clear(res, ended !== null);
      }
    }

    @Post('logout-all')
    @UseGuards(SessionGuard)
    @HttpCode(204)
    @ApiRoute({
      summary: 'End every session of the user',
      headers: [CSRF_HEADER],
      success: { status: 204, description: 'Every session of the user revoked; cookies cleared.' },
      errors: { 401: GUARD_401_CODES, 403: ['CSRF_REJECTED'], ...UNAVAILABLE },
      authenticated: true,
    })
    async logoutAll(@CurrentUser() user: SessionUser<UserId>, @Res({ passthrough: true }) res: ResponseLike) {
      await this.sessions.revokeAllForUser(user.id, 'logout_all');
      this.http.clear(res);
    }

    @Post('logout-others')
    @UseGuards(SessionGuard)
    @HttpCode(204)
    @ApiRoute({
      summary: 'End every other session of the user',
      description: 'Signs out every other device; the session making the request stays.',
      headers: [CSRF_HEADER],
      success: { status: 204, description: 'Every other session of the user revoked.' },
      errors: { 401: GUARD_401_CODES, 403: ['CSRF_REJECTED'], ...UNAVAILABLE },
      authenticated: true,
    })
    async logoutOthers(@CurrentUser() user: SessionUser<UserId>, @CurrentSession() session: SessionInfo) {
      await this.sessions.revokeOthers(user.id, session.id);
    }

    @Get('sessions')
    @UseGuards(SessionGuard)
    @ApiRoute({
      summary: "The user's live sessions",
      success: { status: 200, description: 'Live sessions only, the current one marked.', schema: { type: 'array', items: SESSION_ITEM } },
      errors: { 401: GUARD_401_CODES, ...UNAVAILABLE },
      authenticated: true,
    })
    async list(@CurrentUser() user: SessionUser<UserId>, @CurrentSession() session: SessionInfo, @Res({ passthrough: true }) res: ResponseLike) {
      this.http.noStore(res);
      return this.sessions.listForUser(user.id, session.id);
    }

    @Delete('sessions/:id')
    @UseGuards(SessionGuard)
    @HttpCode(204)
    @ApiRoute({
      summary: 'End one of the user\'s sessions',
      params: [{ name: 'id', description: 'A session id from GET sessions.', schema: { type: 'string', format: 'uuid' } }],
      headers: [CSRF_HEADER],
      success: { status: 204, description: 'Revoked (also when it already was).' },
      errors: { 401: GUARD_401_CODES, 403: ['CSRF_REJECTED'], 404: ['NOT_FOUND'], ...UNAVAILABLE },
      authenticated: true,
    })
    async revokeOne(
      @Param('id') id: string,
      @CurrentUser() user: SessionUser<UserId>,
      @CurrentSession() session: SessionInfo,
      @Res({ passthrough: true }) res: ResponseLike,
    ) {
      if (!isSessionId(id)) throw new NotFoundError();
      if (!(await this.sessions.revoke(id, 'revoked', user.id))) throw new NotFoundError();
      if (id === session.id && session.tokenSource === 'cookie') this.http.clear(res, false);
    }

    @Get('csrf')
    @UseGuards(SessionGuard)
    @ApiRoute({
      summary: 'A fresh CSRF token for the session',
      success: {
        status: 200,
        description: 'Cookie sessions also get it as the CSRF cookie.',
        schema: { type: 'object', required: ['csrfToken'], properties: { csrfToken: { type: 'string' } } },
      },
      errors: { 401: GUARD_401_CODES, ...UNAVAILABLE },
      authenticated: true,
    })
    async csrfToken(@CurrentSession() session: SessionInfo, @Res({ passthrough: true }) res: ResponseLike) {
      const csrfToken = this.sessions.csrfTokenFor(session.id);
      if (session.tokenSource === 'cookie') {
        const lifetime = await this.sessions.cookieLifetime(session.id);
        this.http.sendCsrf(res, csrfToken, lifetime.expiresAt, lifetime.persistent);
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
