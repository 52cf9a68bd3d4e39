import { Controller, HttpCode, HttpStatus, Post, Req, Res, UseFilters, VERSION_NEUTRAL, type Type } from '@nestjs/common';
import { SessionExceptionFilter } from '../http/session-exception.filter';
import { SessionHttp } from '../http/session-http';
import { SessionCredentials } from '../http/session-credentials';
import type { RequestLike, ResponseLike } from '../http/http-types';
import { Public } from '../decorators/public.decorator';
import { SkipCsrf } from '../decorators/skip-csrf.decorator';
import { NotFoundError, SessionError } from '../errors/session-error';
import { parseRefreshToken } from '../tokens/refresh-token';
import { DeviceSessions } from './device-sessions';

/**
 * The two DBSC routes under the refresh controller's prefix, so the refresh cookie reaches them:
 * `POST dbsc/register` and `POST dbsc/refresh`. The browser itself calls them, without the page's
 * CSRF header; what stands for it is the signed `Secure-Session-Response` header (no other site can
 * make a browser send it) and the challenge, which names the session. 404 while `dbsc` is off.
 */
export function createDbscController(prefix: string): Type<unknown> {
  @Controller({ path: prefix, version: VERSION_NEUTRAL })
  @UseFilters(SessionExceptionFilter)
  class DbscController {
    constructor(
      private readonly devices: DeviceSessions,
      private readonly http: SessionHttp,
      private readonly credentials: SessionCredentials,
    ) {}

    /** Binds the session of the access cookie to the key of the registration proof, once. */
    @Public()
    @SkipCsrf()
    @Post('dbsc/register')
    @HttpCode(200)
    async register(@Req() req: RequestLike, @Res({ passthrough: true }) res: ResponseLike) {
      this.http.noStore(res);
      const access = readOrNull(() => this.credentials.accessToken(req));
      const { grant, nextChallenge } = await this.devices.register(access?.via === 'cookie' ? access.token : null, headerOf(req, 'secure-session-response'));
      this.http.send(res, grant);
      this.http.header(res, 'Secure-Session-Challenge', this.devices.challengeHeader(grant.sessionId, nextChallenge));
      return this.devices.sessionJson(grant.sessionId, this.http.refreshCookiePath);
    }

    /**
     * Without a proof: 403 and a challenge. With a proof of the session's key: the refresh cookie
     * rotates as on `POST refresh`, fresh cookies and the next challenge (so the next refresh is one
     * round trip). A session that cannot go on answers `continue: false`, which ends it in the browser.
     */
    @Public()
    @SkipCsrf()
    @Post('dbsc/refresh')
    @HttpCode(200)
    async refresh(@Req() req: RequestLike, @Res({ passthrough: true }) res: ResponseLike) {
      this.http.noStore(res);
      if (!this.devices.enabled) throw new NotFoundError();
      const presented = readOrNull(() => this.credentials.refreshToken(req, undefined));
      const sessionId = presented?.via === 'cookie' ? parseRefreshToken(presented.token)?.sessionId : undefined;
      const named = headerOf(req, 'sec-secure-session-id')?.replace(/^"|"$/g, '');
      if (!presented || !sessionId || (named !== undefined && named !== sessionId)) return this.ended(res, named ?? sessionId);
      const proof = headerOf(req, 'secure-session-response');
      if (!proof) {
        // Only a bound, open session gets a challenge; and a refresh challenge serves no registration.
        const challenge = await this.devices.refreshChallenge(sessionId);
        if (!challenge) return this.ended(res, sessionId);
        this.http.header(res, 'Secure-Session-Challenge', this.devices.challengeHeader(sessionId, challenge));
        throw new SessionError('DEVICE_PROOF_REQUIRED', HttpStatus.FORBIDDEN, 'Answer the challenge with a proof of the session key.');
      }
      try {
        const { grant, nextChallenge } = await this.devices.refresh(presented, proof, this.http.clientOf(req).ip);
        this.http.send(res, grant);
        this.http.header(res, 'Secure-Session-Challenge', this.devices.challengeHeader(sessionId, nextChallenge));
        return this.devices.sessionJson(sessionId, this.http.refreshCookiePath);
      } catch (error) {
        if (error instanceof SessionError && error.getStatus() === HttpStatus.UNAUTHORIZED) return this.ended(res, sessionId);
        throw error;
      }
    }

    /** The session is over for this browser: its cookies cleared, and DBSC told to stop refreshing it. */
    private ended(res: ResponseLike, sessionId: string | undefined) {
      this.http.clear(res, false);
      return { session_identifier: sessionId ?? '', continue: false };
    }
  }
  return DbscController;
}

function headerOf(req: RequestLike, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function readOrNull<T>(read: () => T | null): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}
