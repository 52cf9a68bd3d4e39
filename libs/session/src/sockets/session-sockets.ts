import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { LRUCache } from 'lru-cache';
import { MAX_TOKEN_BYTES, REQUEST_SESSION, RESOLVED_SESSION_OPTIONS } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { SessionService } from '../session.service';
import { toAuthenticated, type AuthenticatedSession } from '../authenticated-session';
import { AccessTokenService } from '../tokens/access-token';
import { SessionLiveness } from '../revocation/session-liveness';
import { findAccessToken, type AccessTokenSource } from '../http/access-token-source';
import { isAllowedOrigin } from '../http/request-origin';
import { CsrfRejectedError, ReauthenticationRequiredError, SessionError, SessionRevokedError, UnauthenticatedError, toHttpError } from '../errors/session-error';
import type { SessionUser, UserId } from '../session.types';
import {
  SOCKET_SESSION_ENDED_EVENT,
  SOCKET_SESSION_EVENT,
  type SessionEndedPayload,
  type SessionEndedReason,
  type SessionSocket,
  type SessionSocketError,
  type SessionSocketMiddleware,
} from './session-socket';

/** What a handshake proved, kept until `bind` (and afterwards, for the socket's life). */
interface Binding {
  sessionId: string;
  /** The token's `sub`: the user id as the store keeps it (liveness checks are keyed by it). */
  subject: string;
  /** The user id in the app's type, for `loadUser`. */
  userId: UserId;
  /** The access token's `exp`, in ms: the first time the session's end is read. */
  tokenExpiresAtMs: number;
}

/** The sockets of one session on this instance, and the timer that watches the session's end. */
interface BoundSession {
  sessionId: string;
  subject: string;
  userId: UserId;
  sockets: Set<SessionSocket>;
  timer: NodeJS.Timeout | null;
  /** When the session was last known live: the handshake, then each check that answered. */
  confirmedAtMs: number;
  /** The session's end as last read (null before the first read, at the token's `exp`): a broadcast end past it is an expiry. */
  endsAtMs: number | null;
  /** When the timer reads the session and the user next. */
  nextCheckAtMs: number;
  /**
   * When the sockets' roles were last known current: the oldest handshake token's issue, then
   * each read of the user. Unconfirmed for an access-token lifetime and `revocationCache.maxAge`
   * (the store or `loadUser` failing), the sockets are dropped: roles are never stale for longer.
   */
  rolesConfirmedAtMs: number;
}

/** setTimeout's longest delay; a later end is re-read then. */
const MAX_TIMER_MS = 2_147_483_647;
/** How long an ended session id is remembered to close the gap between a handshake and `bind`. */
const ENDED_MEMORY_MS = 5 * 60_000;
/** A failed read of the session's end (store unavailable) is tried again after this long. */
const RETRY_MS = 5_000;

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
 *   `revocationCache.ttl` (no I/O while the cache vouches for it), so a lost broadcast or a
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
  private readonly bound = new Map<string, BoundSession>();
  private readonly ended = new LRUCache<string, SessionEndedReason>({ max: 100_000, ttl: ENDED_MEMORY_MS });
  private liveness: SessionLiveness | null = null;
  private unsubscribe: (() => void) | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private warnedUnbound = false;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly sessions: SessionService,
    private readonly accessTokens: AccessTokenService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Subscribes to ended sessions and, in strict mode, starts the periodic check. */
  onModuleInit(): void {
    const liveness = this.moduleRef.get(SessionLiveness, { strict: false });
    this.liveness = liveness;
    this.unsubscribe = liveness.onSessionsEnded((ids) => this.sessionsEnded(ids));
    if (this.options.revocation === 'strict') {
      this.sweepTimer = setInterval(() => this.sweep(), this.sweepIntervalMs());
      this.sweepTimer.unref();
    }
  }

  /** Stops the timers and forgets the bound sockets. */
  onApplicationShutdown(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const entry of this.bound.values()) if (entry.timer) clearTimeout(entry.timer);
    this.bound.clear();
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
    const claims = this.accessTokens.verify(source.token, Date.now());
    await this.sessions.assertLive(claims);
    // Ended while the check was in flight (a broadcast that arrived after the read).
    const ended = this.ended.get(claims.sid);
    if (ended) throw ended === 'expired' ? new ReauthenticationRequiredError() : new SessionRevokedError();
    const authenticated = toAuthenticated<Id>(claims, source.via);
    socket.data.user = authenticated.user;
    socket.data[REQUEST_SESSION] = authenticated.session;
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
    const endedFor = this.ended.get(binding.sessionId);
    if (endedFor) {
      this.endSocket(socket, binding.sessionId, endedFor);
      return false;
    }
    if (socket.connected === false) return false;
    let entry = this.bound.get(binding.sessionId);
    const issuedAtMs = binding.tokenExpiresAtMs - this.options.accessTokenTtlMs;
    if (!entry) {
      entry = {
        sessionId: binding.sessionId,
        subject: binding.subject,
        userId: binding.userId,
        sockets: new Set(),
        timer: null,
        confirmedAtMs: Date.now(),
        endsAtMs: null,
        nextCheckAtMs: Infinity,
        rolesConfirmedAtMs: issuedAtMs,
      };
      this.bound.set(binding.sessionId, entry);
    }
    // This socket's roles are its token's: read again no later than the token's expiry, even when
    // the session's other sockets were read more recently.
    entry.rolesConfirmedAtMs = Math.min(entry.rolesConfirmedAtMs, issuedAtMs);
    if (binding.tokenExpiresAtMs < entry.nextCheckAtMs) this.arm(entry, binding.tokenExpiresAtMs);
    entry.sockets.add(socket);
    socket.once('disconnect', () => this.unbind(socket, binding.sessionId));
    socket.emit(SOCKET_SESSION_EVENT, { sessionId: binding.sessionId });
    return true;
  }

  /** How many sockets are bound on this instance (all sessions, or one). */
  count(sessionId?: string): number {
    if (sessionId !== undefined) return this.bound.get(sessionId)?.sockets.size ?? 0;
    let n = 0;
    for (const entry of this.bound.values()) n += entry.sockets.size;
    return n;
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

  private unbind(socket: SessionSocket, sessionId: string): void {
    const entry = this.bound.get(sessionId);
    if (!entry) return;
    entry.sockets.delete(socket);
    if (entry.sockets.size > 0) return;
    if (entry.timer) clearTimeout(entry.timer);
    this.bound.delete(sessionId);
  }

  /** From `SessionLiveness`: sessions revoked here or, through the bus, elsewhere. */
  private sessionsEnded(sessionIds: readonly string[]): void {
    const now = Date.now();
    for (const sessionId of sessionIds) {
      // Broadcast ends carry no reason: one past the end last read is a timeout (a refresh that
      // came too late marks the session ended for its idle or absolute timeout).
      const endsAtMs = this.bound.get(sessionId)?.endsAtMs;
      this.endSession(sessionId, endsAtMs != null && endsAtMs <= now ? 'expired' : 'revoked');
    }
  }

  /** Remembers the session as ended (for a handshake still in flight) and ends its sockets here. */
  private endSession(sessionId: string, reason: SessionEndedReason): void {
    this.ended.set(sessionId, reason);
    const entry = this.bound.get(sessionId);
    if (!entry) return;
    this.bound.delete(sessionId);
    if (entry.timer) clearTimeout(entry.timer);
    for (const socket of entry.sockets) this.endSocket(socket, sessionId, reason);
  }

  private endSocket(socket: SessionSocket, sessionId: string, reason: SessionEndedReason): void {
    try {
      socket.emit(SOCKET_SESSION_ENDED_EVENT, { sessionId, reason } satisfies SessionEndedPayload);
      // engine.io flushes what is queued (the event above) before it closes the connection.
      socket.disconnect(true);
    } catch {
      this.logger.error('could not disconnect a socket of an ended session');
    }
  }

  /** Reads the session's end at `atMs`. */
  private arm(entry: BoundSession, atMs: number): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.nextCheckAtMs = atMs;
    const delay = Math.min(Math.max(0, atMs - Date.now()), MAX_TIMER_MS);
    entry.timer = setTimeout(() => void this.checkEnd(entry), delay);
    entry.timer.unref();
  }

  /**
   * Every access-token lifetime, what a refresh would re-read: the session's end from the store
   * (idle expiry, capped at the absolute one; now when it was revoked) and the user from
   * `loadUser`. Ended, its sockets close; a user `loadUser` no longer knows revokes the session;
   * otherwise every socket's user takes the roles read now, so a demotion reaches open sockets
   * within one access-token lifetime, as it reaches HTTP through the next refresh. Then look again
   * at the session's end or one lifetime from now, whichever comes first.
   */
  private async checkEnd(entry: BoundSession): Promise<void> {
    entry.timer = null;
    let end: { endsAt: Date; revoked: boolean };
    let user: SessionUser<UserId> | null = null;
    try {
      end = await this.sessions.sessionEnd(entry.sessionId);
      if (!endedReason(end, Date.now())) user = await this.sessions.currentUser(entry.sessionId, entry.userId);
    } catch {
      if (this.bound.get(entry.sessionId) !== entry) return;
      // Roles nobody could confirm for a token lifetime and then revocationCache.maxAge (the
      // longest a cached answer stands): the sockets go, without session.ended (it may well be
      // live), and their handshakes answer 503 until the store does. A shorter blip keeps them.
      const deadline = entry.rolesConfirmedAtMs + this.options.accessTokenTtlMs + this.options.revocationCache.maxAgeMs;
      if (Date.now() >= deadline) {
        const dropped = this.dropUnchecked(entry);
        if (dropped > 0) this.logger.warn(`disconnected ${dropped} socket(s) whose roles could not be read for an access-token lifetime and revocationCache.maxAge (the session store or loadUser is failing)`);
        return;
      }
      this.arm(entry, Math.min(Date.now() + RETRY_MS, deadline));
      return;
    }
    if (this.bound.get(entry.sessionId) !== entry) return;
    const now = Date.now();
    const ended = endedReason(end, now);
    if (ended || !user) {
      this.endSession(entry.sessionId, ended ?? 'revoked');
      return;
    }
    for (const socket of entry.sockets) socket.data.user = { id: entry.userId, roles: user.roles.slice() } satisfies SessionUser<UserId>;
    entry.rolesConfirmedAtMs = now;
    const endsAtMs = end.endsAt.getTime();
    entry.endsAtMs = endsAtMs;
    this.arm(entry, Math.min(endsAtMs, now + this.options.accessTokenTtlMs));
  }

  /** The revocation cache's TTL: how often strict mode asks whether each bound session is live. */
  private sweepIntervalMs(): number {
    const ttl = this.options.revocationCache.ttlMs;
    return ttl > 0 ? ttl : 5_000;
  }

  /**
   * Strict mode: every bound session through `SessionLiveness.isLive`, as a request would be. While
   * the bus is heard the cache answers (no I/O) and re-reads entries as they age; without a bus,
   * or while the listener is lapsed, it reads the store.
   *
   * A read that fails is tried at the next sweep, and the socket stays meanwhile: a store blip
   * must not disconnect every client at once (they would all reconnect into the same outage).
   * Once one read has failed, the rest of the sweep reads nothing (each would wait out the same
   * outage). But no socket stays unchecked for longer than `revocationCache.maxAge` since its
   * session was last known live, the longest any cached answer stands: then it is disconnected
   * without `session.ended` (the session may well be live), and its reconnection's handshake
   * answers `SERVICE_UNAVAILABLE` until the store does.
   */
  private sweep(): void {
    if (this.sweeping || !this.liveness || this.bound.size === 0) return;
    this.sweeping = true;
    const liveness = this.liveness;
    const entries = [...this.bound.values()];
    let unchecked = 0;
    void (async () => {
      let storeDown = false;
      for (const entry of entries) {
        if (this.bound.get(entry.sessionId) !== entry) continue;
        let live: boolean;
        try {
          if (storeDown && !liveness.isCachedLive(entry.sessionId, entry.subject)) throw new Error('store unavailable');
          live = await liveness.isLive(entry.sessionId, entry.subject);
        } catch {
          storeDown = true;
          if (Date.now() - entry.confirmedAtMs >= this.options.revocationCache.maxAgeMs) unchecked += this.dropUnchecked(entry);
          continue;
        }
        if (live) {
          entry.confirmedAtMs = Date.now();
          continue;
        }
        const reason = await this.endReason(entry.sessionId);
        if (this.bound.get(entry.sessionId) === entry) this.endSession(entry.sessionId, reason);
      }
    })()
      .catch((error: unknown) => this.logger.error(`socket sweep failed: ${error instanceof Error ? error.name : 'unknown error'}`))
      .finally(() => {
        this.sweeping = false;
        if (unchecked > 0) {
          this.logger.warn(`disconnected ${unchecked} socket(s) whose session could not be checked for revocationCache.maxAge (the session store is unavailable)`);
        }
      });
  }

  /**
   * Why a session found not live ended, from its row (one read, once per session): `expired`
   * only when it was not revoked and its end has passed; anything else, a failed read included,
   * is `revoked`.
   */
  private async endReason(sessionId: string): Promise<SessionEndedReason> {
    try {
      return endedReason(await this.sessions.sessionEnd(sessionId), Date.now()) ?? 'revoked';
    } catch {
      return 'revoked';
    }
  }

  /** Disconnects the sockets of a session that could not be checked (no `session.ended`: it has not ended); returns how many. */
  private dropUnchecked(entry: BoundSession): number {
    if (this.bound.get(entry.sessionId) !== entry) return 0;
    this.bound.delete(entry.sessionId);
    if (entry.timer) clearTimeout(entry.timer);
    const count = entry.sockets.size;
    for (const socket of [...entry.sockets]) {
      try {
        socket.disconnect(true);
      } catch {
        this.logger.error('could not disconnect a socket of an unchecked session');
      }
    }
    return count;
  }
}

/** Why a session whose row reads `end` has ended at `nowMs`, or null while it is open. */
function endedReason(end: { endsAt: Date; revoked: boolean }, nowMs: number): SessionEndedReason | null {
  if (end.revoked) return 'revoked';
  return end.endsAt.getTime() <= nowMs ? 'expired' : null;
}
