import { Inject, Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost } from '@nestjs/core';
import { RESOLVED_SESSION_OPTIONS } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { SessionService } from '../session.service';
import type { IssueClient, SessionGrant } from '../session-grant';
import { CsrfRejectedError, SessionStoreUnavailableError, toHttpError } from '../errors/session-error';
import { isAllowedOrigin } from './request-origin';
import type { SessionInfo, SessionUser, UserId } from '../session.types';
import type { RequestLike, ResponseLike } from './http-types';
import { clearedCookies, csrfCookie, grantCookies } from './session-cookies';
import { resolveRefreshPath } from './refresh-path';
import { DpopProofs } from '../dpop/dpop-proofs';
import { DeviceSessions } from '../dbsc/device-sessions';
import { DpopProofRequiredError } from '../errors/session-error';

/** What a login or refresh answers: the tokens themselves only in bearer transport. */
export interface SessionGrantBody {
  csrfToken: string;
  accessTokenExpiresAt: Date;
  sessionExpiresAt: Date;
  accessToken?: string;
  refreshToken?: string;
  /** Bearer transport: `DPoP` when the session is bound to the client's key (send the token as `Authorization: DPoP`), else `Bearer`. */
  tokenType?: 'Bearer' | 'DPoP';
  /**
   * Cookie login with `dbsc` on: the browser was offered to bind the session to its device key
   * (DBSC). If it does, the browser refreshes the session itself; a client script leaves it to it.
   */
  deviceBinding?: true;
}

/**
 * The one place where sessions meet HTTP: it reads who is logging in from a request, turns grants
 * into cookies or a body, clears cookies, and maps store failures to 503s. It writes through
 * Nest's `HttpAdapterHost`, so Express and Fastify behave alike. `SessionService` never sees a
 * request or a response.
 *
 * @example
 * @Post('login') @LoginRoute() @HttpCode(200)
 * async login(@Body() dto: LoginDto, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
 *   const user = await this.users.verifyCredentials(dto.email, dto.password);
 *   if (!user) throw new UnauthorizedException();
 *   return { user: { id: user.id }, ...(await this.sessionHttp.login(req, res, user)) };
 * }
 */
@Injectable()
export class SessionHttp implements OnModuleInit {
  private refreshPath: string;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly sessions: SessionService,
    private readonly adapterHost: HttpAdapterHost,
    @Optional() private readonly appConfig?: ApplicationConfig,
    @Optional() private readonly dpop?: DpopProofs,
    @Optional() private readonly devices?: DeviceSessions,
  ) {
    this.refreshPath = options.cookies.refreshPath ?? `/${options.routePrefix}`;
  }

  /** The global prefix is set before `init()`: read the refresh route's real path now. */
  onModuleInit(): void {
    this.refreshPath = resolveRefreshPath(this.options.routePrefix, this.options.cookies.refreshPath, this.appConfig);
  }

  /** The refresh cookie's `Path` (the refresh route's mount path). */
  get refreshCookiePath(): string {
    return this.refreshPath;
  }

  /**
   * Starts a session for a user the app has authenticated and writes it to the response: cookies
   * (the default), or the tokens in the body when the client sent `X-Session-Transport: bearer`.
   * If the response cannot carry the session, the session is ended before the error propagates,
   * so no live session is left that nobody holds.
   */
  async login(req: RequestLike, res: ResponseLike, user: SessionUser<UserId>, client: IssueClient = {}): Promise<SessionGrantBody> {
    const asked = this.clientOf(req);
    const who = { ...asked, ...client };
    // LoginCsrfGuard lets a login that asks for bearer through from anywhere; if the app issues a
    // cookie session instead, the origin check it skipped is made here.
    if (who.transport === 'cookie' && asked.transport === 'bearer' && !isAllowedOrigin(req, this.options.csrf)) throw new CsrfRejectedError();
    const jkt = who.transport === 'bearer' ? await this.dpopKeyOf(req, res) : null;
    const grant = await this.storeFailureAs503(() => this.sessions.issue(user, jkt ? { ...who, jkt } : who));
    try {
      const body = this.send(res, grant);
      if (grant.transport === 'cookie' && this.devices?.enabled) {
        this.adapter.setHeader(res, 'Secure-Session-Registration', this.devices.registrationHeader(grant.sessionId, this.refreshPath));
        body.deviceBinding = true;
      }
      return body;
    } catch (error) {
      await this.sessions.abandon(grant.sessionId);
      throw error;
    }
  }

  /**
   * The key a bearer login's DPoP proof binds the session to (RFC 9449 §5), or null: DPoP off (the
   * header is then ignored, as RFC 9449 asks of a server without it) or no proof where it is only
   * allowed. A bad proof, or none where one is required, is refused with its challenge.
   */
  private async dpopKeyOf(req: RequestLike, res: ResponseLike): Promise<string | null> {
    if (!this.dpop || this.dpop.mode === 'off') return null;
    try {
      const proof = await this.dpop.proofOf(req);
      if (!proof && this.dpop.mode === 'required') throw new DpopProofRequiredError(400);
      if (proof) this.dpop.nextNonceOn(res);
      return proof?.jkt ?? null;
    } catch (error) {
      this.dpop.challengeOn(res, error);
      throw toHttpError(error);
    }
  }

  /**
   * The key of a refresh's DPoP proof (null: none, or DPoP off). A bad proof is refused with its
   * challenge; whether the session needs one is the refresh's to decide.
   */
  async refreshKeyOf(req: RequestLike, res: ResponseLike): Promise<string | null> {
    if (!this.dpop || this.dpop.mode === 'off') return null;
    try {
      const proof = await this.dpop.proofOf(req);
      if (proof) this.dpop.nextNonceOn(res);
      return proof?.jkt ?? null;
    } catch (error) {
      this.dpop.challengeOn(res, error);
      throw toHttpError(error);
    }
  }

  /**
   * For logout: the key of the request's DPoP proof (checked against the access token it
   * presents, if any), or null for no proof or a bad one: logout never fails on it, it only
   * proves less.
   */
  async logoutKeyOf(req: RequestLike, accessToken?: string): Promise<string | null> {
    if (!this.dpop || this.dpop.mode === 'off') return null;
    try {
      return (await this.dpop.proofOf(req, accessToken))?.jkt ?? null;
    } catch (error) {
      if (error instanceof SessionStoreUnavailableError) throw error;
      return null;
    }
  }

  /** Writes the `WWW-Authenticate` challenge of a DPoP refusal. */
  challenge(res: ResponseLike, error: unknown): void {
    this.dpop?.challengeOn(res, error);
  }

  /** User agent, IP (as the platform resolved it: `trust proxy` decides) and the transport asked for. */
  clientOf(req: RequestLike): IssueClient {
    const agent = req.headers['user-agent'];
    const asked = first(req.headers['x-session-transport'])?.trim().toLowerCase();
    return {
      transport: asked === 'bearer' ? 'bearer' : 'cookie',
      userAgent: typeof agent === 'string' ? agent : undefined,
      ip: req.ip ?? req.socket?.remoteAddress,
    };
  }

  /** Writes a grant: cookies in cookie transport (tokens left out of the body), never cacheable. */
  send(res: ResponseLike, grant: SessionGrant): SessionGrantBody {
    this.noStore(res);
    const body: SessionGrantBody = {
      csrfToken: grant.csrfToken,
      accessTokenExpiresAt: grant.accessTokenExpiresAt,
      sessionExpiresAt: grant.sessionExpiresAt,
    };
    if (grant.transport === 'bearer') {
      body.tokenType = grant.keyBound ? 'DPoP' : 'Bearer';
      body.accessToken = grant.accessToken;
      if (grant.refreshToken) body.refreshToken = grant.refreshToken;
      return body;
    }
    for (const cookie of grantCookies(this.options.cookies, this.refreshPath, grant, Date.now())) this.append(res, cookie);
    return body;
  }

  /**
   * After the app has checked the user's password again: records the re-authentication and
   * writes the new access token (cookie, or body for bearer sessions), whose `auth_time` is now.
   */
  async reauthenticate(res: ResponseLike, session: SessionInfo<UserId>): Promise<SessionGrantBody> {
    const grant = await this.storeFailureAs503(() => this.sessions.reauthenticate(session.id, session.userId));
    return this.send(res, grant);
  }

  /** Writes the CSRF cookie alone (for `GET /auth/csrf`). */
  sendCsrf(res: ResponseLike, csrfToken: string, sessionExpiresAt: Date, persistent = true): void {
    this.append(res, csrfCookie(this.options.cookies, csrfToken, sessionExpiresAt, Date.now(), persistent));
    this.noStore(res);
  }

  /**
   * Clears the auth cookies. `siteData` also sends `Clear-Site-Data: "cookies"` (every cookie of
   * the site) unless the app turned `clearSiteData` off.
   */
  clear(res: ResponseLike, siteData = true): void {
    for (const cookie of clearedCookies(this.options.cookies, this.refreshPath)) this.append(res, cookie);
    if (siteData && this.options.clearSiteData) this.adapter.setHeader(res, 'Clear-Site-Data', '"cookies"');
    this.noStore(res);
  }

  /** Any other header the library's own routes answer with (DBSC's challenges). */
  header(res: ResponseLike, name: string, value: string): void {
    this.adapter.setHeader(res, name, value);
  }

  /** `Retry-After` on a 429, in whole seconds. */
  retryAfter(res: ResponseLike, seconds: number): void {
    this.adapter.setHeader(res, 'Retry-After', String(Math.max(1, Math.ceil(seconds))));
  }

  /** Responses that carry tokens must never be stored by a browser or proxy cache. */
  noStore(res: ResponseLike): void {
    this.adapter.setHeader(res, 'Cache-Control', 'no-store');
    this.adapter.setHeader(res, 'Pragma', 'no-cache');
  }

  /** Runs a service call, answering a store failure with a 503 `SessionError` (`login` works without the filter). */
  private async storeFailureAs503<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw toHttpError(error);
    }
  }

  private append(res: ResponseLike, cookie: string): void {
    this.adapter.appendHeader(res, 'Set-Cookie', cookie);
  }

  private get adapter() {
    const adapter = this.adapterHost.httpAdapter;
    if (!adapter) throw new Error('nest-sessions: SessionHttp needs an HTTP application (no HTTP adapter found).');
    return adapter;
  }
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
