import { SessionTelemetry } from '../telemetry/session-telemetry';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { MAX_TOKEN_BYTES, RESOLVED_SESSION_OPTIONS } from '../session.constants';
import { setRequestSession } from '../http/request-session';
import type { ResolvedSessionOptions } from '../resolve-options';
import { SessionService } from '../session.service';
import { toAuthenticated, type AuthenticatedSession } from '../authenticated-session';
import { AccessTokenService } from '../tokens/access-token';
import { SessionLiveness } from '../revocation/session-liveness';
import { findAccessToken, type AccessTokenSource } from '../http/access-token-source';
import { isAllowedOrigin } from '../http/request-origin';
import { CsrfRejectedError, ReauthenticationRequiredError, SessionError, SessionRevokedError, UnauthenticatedError, toHttpError } from '../errors/session-error';
import type { UserId } from '../session.types';
import type { SessionSocket, SessionSocketError, SessionSocketMiddleware } from './session-socket';
import { BoundSessions, type Binding } from './bound-sessions';
import { DpopProofs } from '../dpop/dpop-proofs';

/**
 * Sessions for socket.io gateways: authenticates the handshake (the access cookie, or a bearer
 * token in the handshake's `auth: { token }`), binds the socket to its session, and ends the socket
 * with its session: when the session is revoked by any path, here or (strict mode, through the
 * revocation bus) on another instance, every socket bound to it receives `session.ended` and is
 * disconnected at once. A socket outlives its access token only while its session is live.
 *
 * - Revocation: `SessionLiveness.onSessionsEnded` (the same signal that clears the revocation
 *   cache), so the bound is HTTP's: at once here, within about a second on other instances.
 *   In strict mode every bound session is also re-checked through the revocation cache every
 *   `revocation.cache.ttl` (no I/O while the cache vouches for it), so a lost broadcast or a
 *   lapsed listener ends a socket within the same bound as HTTP requests.
 * - Expiry (idle or absolute, which nobody revokes) and roles: a timer per session reads the
 *   session's end and the user (`loadUser`) at the access token's `exp`, then every
 *   `accessTokenTtl` and at the session's end, which a refresh may have moved. A session found
 *   ended closes its sockets; otherwise the sockets' user takes the roles read, so a demotion
 *   reaches an open socket within one access-token lifetime, as it reaches HTTP.
 * - Stateless mode: revocations made on this instance end sockets at once; those made on another
 *   instance reach a socket when its session is next read: at the access token's `exp`, then
 *   every `accessTokenTtl`. That is HTTP's stateless bound (the access token's lifetime).
 *
 * Use it from a gateway: `server.use(sockets.middleware())` in `afterInit` (a refused handshake
 * reaches the client as socket.io's `connect_error`, with `err.data.code`), and
 * `sockets.bind(socket)` in `handleConnection` (emits `session` with `{ sessionId }`).
 *
 * @example
 * @WebSocketGateway({ namespace: '/events' })
 * export class EventsGateway implements OnGatewayInit, OnGatewayConnection {
 *   constructor(private readonly sockets: SessionSockets) {}
 *   afterInit(server: Namespace) { server.use(this.sockets.middleware()); }
 *   handleConnection(socket: Socket) { this.sockets.bind(socket); }
 *   @SubscribeMessage('whoami') whoami(@CurrentUser() user: SessionUser) { return user; }
 * }
 */
@Injectable()
export class SessionSockets implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SessionSockets');
  private readonly bindings = new WeakMap<SessionSocket, Binding>();
  private readonly bound: BoundSessions;
  private warnedUnbound = false;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly sessions: SessionService,
    private readonly accessTokens: AccessTokenService,
    private readonly moduleRef: ModuleRef,
    @Optional() private readonly dpop?: DpopProofs,
    @Optional() telemetry?: SessionTelemetry,
  ) {
    this.bound = new BoundSessions(options, sessions, this.logger, telemetry);
  }

  /** Subscribes to ended sessions and, in strict mode, starts the periodic check. */
  onModuleInit(): void {
    this.bound.start(this.moduleRef.get(SessionLiveness, { strict: false }));
  }

  /** Stops the timers and forgets the bound sockets. */
  onApplicationShutdown(): void {
    this.bound.stop();
  }

  /**
   * socket.io namespace middleware (`server.use(...)` in the gateway's `afterInit`): a handshake
   * that does not authenticate is refused, and the client's `connect_error` carries
   * `err.data = { statusCode, code, message }` with the library's stable code
   * (`UNAUTHENTICATED`, `ACCESS_TOKEN_EXPIRED`, `SESSION_REVOKED`, `CSRF_REJECTED`,
   * `SERVICE_UNAVAILABLE`).
   */
  middleware(): SessionSocketMiddleware {
    return (socket, next) => {
      this.authenticate(socket).then(
        () => next(),
        (error: unknown) => next(this.refusal(error)),
      );
    };
  }

  /**
   * Verifies the handshake's access token and, in strict mode, that its session is open; leaves
   * the user on `socket.data.user` and the session on `socket.data` under the key the guards use,
   * shaped as `SessionGuard` leaves them on a request. Throws the library's errors.
   */
  async authenticate<Id extends UserId = UserId>(socket: SessionSocket): Promise<AuthenticatedSession<Id>> {
    const source = this.findToken(socket);
    if (!source) throw new UnauthenticatedError();
    // A browser sends its cookies with a handshake another site starts: refuse those (CSWSH),
    // with the rule CsrfGuard applies to unsafe requests. Bearer clients prove themselves.
    if (source.via === 'cookie' && !isAllowedOrigin(this.requestOf(socket), this.options.csrf)) throw new CsrfRejectedError();
    const claims = await this.accessTokens.verify(source.token, Date.now());
    await this.assertBinding(socket, source, claims.cnf?.jkt ?? null);
    await this.sessions.assertLive(claims);
    // Ended while the check was in flight (a broadcast that arrived after the read).
    const ended = this.bound.endedFor(claims.sid);
    if (ended) throw ended === 'expired' ? new ReauthenticationRequiredError() : new SessionRevokedError();
    const authenticated = toAuthenticated<Id>(claims, source.via);
    socket.data.user = authenticated.user;
    setRequestSession(socket.data, authenticated.session);
    this.bindings.set(socket, { sessionId: claims.sid, subject: claims.sub, userId: authenticated.user.id, tokenExpiresAtMs: claims.exp * 1000 });
    return authenticated;
  }

  /**
   * Binds a connected socket to the session its handshake authenticated (the gateway's
   * `handleConnection`) and emits `session` with `{ sessionId }`. A socket that was not
   * authenticated (no `middleware()`), or whose session ended since, is disconnected; returns
   * whether the socket stays.
   */
  bind(socket: SessionSocket): boolean {
    const binding = this.bindings.get(socket);
    if (!binding) {
      if (!this.warnedUnbound) {
        this.warnedUnbound = true;
        this.logger.warn('a socket connected without an authenticated handshake and was disconnected: add server.use(sessionSockets.middleware()) in the gateway\'s afterInit');
      }
      socket.disconnect(true);
      return false;
    }
    return this.bound.add(socket, binding);
  }

  /** How many sockets are bound on this instance (all sessions, or one). */
  count(sessionId?: string): number {
    return this.bound.count(sessionId);
  }

  /**
   * A DPoP-bound token opens a socket only with a proof of its key, in `auth.dpop` (or the
   * `DPoP` header), made for `GET` and the handshake's URL; with `dpop: 'required'` every bearer
   * token needs one. A proof presented for a plain token is refused, as on HTTP.
   */
  private async assertBinding(socket: SessionSocket, source: AccessTokenSource, jkt: string | null): Promise<void> {
    const proof = socket.handshake.auth?.dpop;
    const presentedAsDpop = source.dpop === true || (source.via === 'bearer' && proof !== undefined);
    if (jkt === null && !presentedAsDpop && !(this.options.dpop === 'required' && source.via === 'bearer')) return;
    if (!this.dpop) throw new UnauthenticatedError();
    const headers = proof === undefined ? socket.handshake.headers : { ...socket.handshake.headers, dpop: typeof proof === 'string' ? proof : [] };
    await this.dpop.assertBinding({ ...this.requestOf(socket), headers, method: 'GET', url: socket.handshake.url }, source.token, jkt, presentedAsDpop);
  }

  /** The access token: `auth.token` (bearer), else `Authorization: Bearer` or the access cookie. */
  private findToken(socket: SessionSocket): AccessTokenSource | null {
    const fromAuth = socket.handshake.auth?.token;
    if (fromAuth !== undefined && (typeof fromAuth !== 'string' || fromAuth.length === 0 || fromAuth.length > MAX_TOKEN_BYTES)) {
      throw new UnauthenticatedError();
    }
    const fromHeaders = findAccessToken(this.requestOf(socket), this.options.cookies.accessName);
    if (fromAuth === undefined) return fromHeaders;
    // Two credentials that disagree are refused, as a header and a cookie are on HTTP.
    if (fromHeaders && fromHeaders.token !== fromAuth) throw new UnauthenticatedError();
    return { token: fromAuth, via: 'bearer' };
  }

  /** The handshake as a request: its headers, and `https` only when it came over TLS here. */
  private requestOf(socket: SessionSocket) {
    return { headers: socket.handshake.headers, ...(socket.handshake.secure ? { protocol: 'https' } : {}) };
  }

  /** A refusal the client can read: `connect_error` with the message, and the body as `data`. */
  private refusal(error: unknown): SessionSocketError {
    const mapped = toHttpError(error);
    const known = mapped instanceof SessionError ? mapped : new UnauthenticatedError();
    if (!(mapped instanceof SessionError)) this.logger.error(`socket handshake failed: ${error instanceof Error ? error.name : 'unknown error'}`);
    const body = known.getResponse() as { statusCode: number; code: string; message: string };
    const refused = new Error(body.message) as SessionSocketError;
    refused.data = { statusCode: body.statusCode, code: body.code, message: body.message };
    return refused;
  }
}
