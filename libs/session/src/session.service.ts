import { HttpStatus, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { SessionTelemetry } from './telemetry/session-telemetry';
import { RESOLVED_SESSION_OPTIONS } from './session.constants';
import type { ResolvedSessionOptions } from './resolve-options';
import { AccessTokenService, type AccessClaims } from './tokens/access-token';
import { formatRefreshToken, hashRefreshSecret, newRefreshSecret, newSessionId } from './tokens/refresh-token';
import { mintCsrfToken } from './tokens/csrf-token';
import { SessionStore } from './store/session.store';
import { SessionEvents } from './events/session-events';
import { SessionLiveness } from './revocation/session-liveness';
import { SessionRateLimiter } from './rate-limit/session-rate-limiter';
import { SessionError, SessionLimitReachedError, SessionRevokedError } from './errors/session-error';
import type { RevokeReason, SessionListItem, SessionTransport, SessionUser, UserId } from './session.types';
import { restoreUserId, storeUserId } from './user-id';
import { grantOf, type IssueClient, type PresentedRefreshToken, type RefreshClient, type SessionGrant } from './session-grant';
import { toAuthenticated, type AuthenticatedSession } from './authenticated-session';
import { SessionEnder } from './session-ender';
import { SessionUsers, normaliseRoles } from './session-users';
import { sessionProfile } from './session-profile';
import { RefreshMachine } from './refresh/refresh-machine';

/**
 * The session lifecycle: issue, refresh (rotation with reuse detection), revoke, list, and
 * validation of access tokens. Every decision about expiry is taken from the database row and
 * the server clock, never from a cookie or a claim the client could edit.
 */
@Injectable()
export class SessionService {
  private readonly logger = new Logger('SessionService');
  private readonly ender: SessionEnder;
  private readonly users: SessionUsers;
  private readonly refreshes: RefreshMachine;
  private readonly telemetry: SessionTelemetry;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly store: SessionStore,
    private readonly accessTokens: AccessTokenService,
    private readonly events: SessionEvents,
    private readonly liveness: SessionLiveness,
    limiter: SessionRateLimiter,
    @Optional() telemetry?: SessionTelemetry,
  ) {
    this.telemetry = telemetry ?? new SessionTelemetry();
    this.ender = new SessionEnder(store, liveness, events);
    this.users = new SessionUsers(options.loadUser, this.ender, this.logger);
    this.refreshes = new RefreshMachine({ options, store, tokens: accessTokens, limiter, events, ender: this.ender, users: this.users, logger: this.logger, telemetry: this.telemetry, clock: () => Date.now() });
  }

  /**
   * Starts a new session for a user whose credentials the app has just checked. Always a new
   * session id and refresh token: a session or token the client already holds is never adopted.
   * Returns the tokens as data; in an HTTP handler use `SessionHttp.login`, which writes them.
   *
   * @example
   * const grant = await sessions.issue({ id: user.id, roles: user.roles }, { transport: 'bearer' });
   */
  issue(user: SessionUser<UserId>, client: IssueClient = {}): Promise<SessionGrant> {
    return this.telemetry.span('issue', {}, () => this.start(user, client));
  }

  private async start(user: SessionUser<UserId>, client: IssueClient): Promise<SessionGrant> {
    const id = storeUserId(user?.id);
    const roles = normaliseRoles(user?.roles);
    const transport = this.chooseTransport(client.transport);
    const nowMs = Date.now();
    const now = new Date(nowMs);
    const sessionId = newSessionId();
    const secret = newRefreshSecret();
    const profile = sessionProfile(this.options, user, client.rememberMe === true, this.logger);
    const absoluteExpiresAt = new Date(nowMs + profile.absoluteTimeoutMs);
    const expiresAt = new Date(Math.min(nowMs + profile.idleTimeoutMs, absoluteExpiresAt.getTime()));
    // Everything the client gets is made before the row is written: nothing can fail between the
    // write and the return and leave a session that nobody holds.
    // Only a bearer session is bound to a DPoP key: a browser's cookies are not sent with proofs.
    const jkt = transport === 'bearer' && client.jkt ? client.jkt : null;
    const access = await this.accessTokens.sign({ id: user.id, roles }, sessionId, nowMs, absoluteExpiresAt.getTime(), nowMs, jkt);
    const refreshToken = formatRefreshToken(sessionId, secret);
    const grant = grantOf(this.options.csrfKey, { transport, sessionId, access, sessionExpiresAt: expiresAt, persistent: profile.persistent, refreshToken, jkt });
    const row = {
      id: sessionId,
      userId: id.text,
      userIdNumeric: id.numeric,
      transport,
      secretHash: hashRefreshSecret(secret, this.options.refreshPepper),
      now,
      expiresAt,
      absoluteExpiresAt,
      userAgent: truncate(client.userAgent, 512),
      ip: truncate(client.ip, 64),
      idleTimeoutMs: profile.idleTimeoutMs === this.options.idleTimeoutMs ? null : profile.idleTimeoutMs,
      persistent: profile.persistent,
      keyJkt: jkt,
    };
    const limit = this.options.sessionLimit;
    if (!limit) {
      await this.store.insert(row);
    } else {
      const { inserted, evicted } = await this.store.insertWithinLimit(row, limit.max, limit.evict);
      if (!inserted) throw new SessionLimitReachedError();
      if (evicted.length > 0) await this.ender.ended(user.id, evicted, 'session_limit', now);
    }
    this.telemetry.sessionStarted(transport, profile.persistent);
    this.events.emit('issued', { sessionId, userId: user.id, at: now });
    return grant;
  }

  /**
   * Ends a session whose tokens never reached its client (the login response failed), so no
   * live session is left that nobody holds. Never throws: the caller is already failing.
   */
  async abandon(sessionId: string): Promise<void> {
    try {
      await this.ender.end(sessionId, 'not_delivered', new Date());
    } catch {
      this.logger.error(`could not end undelivered session ${sessionId}; it expires on its own`);
    }
  }

  /**
   * Rotates a refresh token. The current secret rotates once (compare-and-swap on the
   * generation); the just-rotated one within the grace window gets a new access token only;
   * any other secret this session issued revokes the whole session; a secret it never issued is
   * refused without touching anything.
   */
  refresh(presented: PresentedRefreshToken, client: RefreshClient = {}): Promise<SessionGrant> {
    return this.telemetry.span('refresh', { 'nest_sessions.transport': presented.via === 'cookie' ? 'cookie' : 'bearer' }, () => this.refreshes.refresh(presented, client));
  }

  /**
   * Verifies an access token (signature, `typ`, `iss`, `aud`, claims, expiry) and, in strict
   * mode, that its session is still open. For use outside HTTP guards (websockets, jobs).
   */
  async validateAccessToken<Id extends UserId = UserId>(token: string): Promise<AuthenticatedSession<Id>> {
    const claims = await this.accessTokens.verify(token, Date.now());
    await this.assertLive(claims);
    return toAuthenticated<Id>(claims, 'bearer');
  }

  /** True when no database check is needed: stateless mode, or a session the cache vouches for. */
  isKnownLive(claims: AccessClaims): boolean {
    return this.options.revocation !== 'strict' || this.liveness.isCachedLive(claims.sid, claims.sub);
  }

  /**
   * Strict revocation: the session must be open (a bounded cache answers most checks; every
   * revocation invalidates it on every instance). A no-op in stateless mode.
   */
  async assertLive(claims: AccessClaims): Promise<void> {
    if (this.options.revocation !== 'strict') return;
    if (!(await this.liveness.isLive(claims.sid, claims.sub))) throw new SessionRevokedError();
  }

  /**
   * Ends the session a logout request proves it holds: by its refresh token, or by an access
   * token whose signature verifies even if it has expired. Returns the revoked session id, or
   * null when nothing was proven (logout still clears the cookies). A DPoP-bound session's tokens
   * prove it only beside a proof by its key: `jkt`, the key of the request's verified proof.
   */
  logout(refresh: PresentedRefreshToken | null, accessToken: string | null, jkt: string | null = null): Promise<string | null> {
    return this.telemetry.span('logout', {}, () => this.endProven(refresh, accessToken, jkt));
  }

  private async endProven(refresh: PresentedRefreshToken | null, accessToken: string | null, jkt: string | null): Promise<string | null> {
    const sessionId = (await this.refreshes.sessionOf(refresh, jkt)) ?? (accessToken ? await this.accessTokens.sessionIdOf(accessToken, Date.now(), jkt) : null);
    if (!sessionId) return null;
    await this.revoke(sessionId, 'logout');
    return sessionId;
  }

  /**
   * Revokes one session. With `userId`, only if it belongs to that user; returns whether a
   * session of that user exists (already revoked counts), so callers can answer 404 otherwise.
   */
  revoke(sessionId: string, reason: RevokeReason = 'revoked', userId?: UserId): Promise<boolean> {
    return this.telemetry.span('revoke', { 'nest_sessions.revoke.reason': reason }, async () => {
      const now = new Date();
      const owner = userId === undefined ? undefined : storeUserId(userId).text;
      if (await this.ender.end(sessionId, reason, now, owner)) return true;
      return owner === undefined ? false : this.store.belongsTo(sessionId, owner);
    });
  }

  /** Ends every session of a user (logout-all, password change, account disabled). */
  async revokeAllForUser(userId: UserId, reason: RevokeReason = 'logout_all'): Promise<string[]> {
    const now = new Date();
    return this.ender.ended(userId, await this.store.revokeUserSessions(storeUserId(userId).text, reason, now), reason, now);
  }

  /**
   * A per-user "not before": ends every session of the user started before `before` (password
   * change, account disabled), so their refresh tokens fail in both modes and, in strict mode,
   * their access tokens too. Sessions started later are untouched.
   */
  async revokeIssuedBefore(userId: UserId, before: Date, reason: RevokeReason = 'not_before'): Promise<string[]> {
    const now = new Date();
    return this.ender.ended(userId, await this.store.revokeUserSessions(storeUserId(userId).text, reason, now, before), reason, now);
  }

  /** The user's open sessions, newest first; `current` marks the caller's own. */
  async listForUser(userId: UserId, currentSessionId?: string): Promise<SessionListItem[]> {
    const rows = await this.store.listLive(storeUserId(userId).text, new Date());
    return rows.map((row) => ({ ...row, device: this.label(row.userAgent), current: row.id === currentSessionId }));
  }

  /**
   * Ends every session of the user except `keepSessionId` (the one they are using): "sign out
   * everywhere else". Returns the ended ids.
   */
  async revokeOthers(userId: UserId, keepSessionId: string, reason: RevokeReason = 'logout_others'): Promise<string[]> {
    const now = new Date();
    return this.ender.ended(userId, await this.store.revokeUserSessions(storeUserId(userId).text, reason, now, undefined, keepSessionId), reason, now);
  }

  /** An app's `deviceLabel` that throws leaves the label out rather than failing the list. */
  private label(userAgent: string | null): string | null {
    try {
      return this.options.deviceLabel(userAgent);
    } catch {
      return null;
    }
  }

  /**
   * Records that the user of an open session has just proved who they are again (their password,
   * a second factor: the app checks it) and returns a new access token whose `auth_time` is now,
   * for `@RequireFreshSession`. The refresh token stays as it is. In an HTTP handler use
   * `SessionHttp.reauthenticate`, which writes it.
   */
  async reauthenticate(sessionId: string, userId: UserId): Promise<SessionGrant> {
    const nowMs = Date.now();
    const now = new Date(nowMs);
    const row = await this.store.markAuthenticated(sessionId, storeUserId(userId).text, now);
    if (!row) throw new SessionRevokedError();
    const user = await this.users.current(sessionId, restoreUserId(storeUserId(userId).text, row.userIdNumeric), now);
    const access = await this.accessTokens.sign(user, sessionId, nowMs, row.absoluteExpiresAt.getTime(), nowMs, row.transport === 'bearer' ? row.keyJkt : null);
    this.events.emit('reauthenticated', { sessionId, userId: user.id, at: now });
    return grantOf(this.options.csrfKey, { transport: row.transport, sessionId, access, sessionExpiresAt: row.expiresAt, persistent: row.persistent, jkt: row.keyJkt });
  }

  /**
   * The session's user as `loadUser` reads them now, as a refresh would: for what holds a session
   * open without refreshing it (sockets), so a demotion reaches it within the same bound. Null when
   * `loadUser` no longer knows the user; the session is then revoked, as a refresh would.
   */
  async currentUser(sessionId: string, userId: UserId): Promise<SessionUser<UserId> | null> {
    try {
      return await this.users.current(sessionId, userId, new Date());
    } catch (error) {
      if (error instanceof SessionRevokedError) return null;
      throw error;
    }
  }

  /** When the session ends (idle expiry capped at the absolute one); now if it has already ended. */
  async sessionExpiresAt(sessionId: string): Promise<Date> {
    return (await this.cookieLifetime(sessionId)).expiresAt;
  }

  /**
   * When the session ends (idle expiry capped at the absolute one) and whether it was revoked:
   * ended before its time by any path. A session marked ended for its timeout (by the cleanup, or
   * by a refresh that came too late) ran out rather than being revoked; one the store no longer
   * has counts as revoked.
   */
  async sessionEnd(sessionId: string): Promise<{ endsAt: Date; revoked: boolean }> {
    const row = await this.store.findForRefresh(sessionId);
    if (!row) return { endsAt: new Date(), revoked: true };
    if (!row.revokedAt) return { endsAt: row.expiresAt, revoked: false };
    const timedOut = row.revokeReason === 'idle_timeout' || row.revokeReason === 'absolute_timeout';
    return { endsAt: row.revokedAt, revoked: !timedOut };
  }

  /** When the session ends, and whether its cookies outlive the browser session. */
  async cookieLifetime(sessionId: string): Promise<{ expiresAt: Date; persistent: boolean }> {
    const row = await this.store.findForRefresh(sessionId);
    return row && !row.revokedAt ? { expiresAt: row.expiresAt, persistent: row.persistent } : { expiresAt: new Date(), persistent: true };
  }

  /** A fresh CSRF token bound to the session (for `GET /auth/csrf`). */
  csrfTokenFor(sessionId: string): string {
    return mintCsrfToken(this.options.csrfKey, sessionId);
  }

  private chooseTransport(asked: SessionTransport = 'cookie'): SessionTransport {
    if (!this.options.transports.has(asked)) {
      throw new SessionError('VALIDATION_FAILED', HttpStatus.BAD_REQUEST, `The ${asked === 'bearer' ? 'bearer' : 'cookie'} transport is not enabled.`);
    }
    return asked;
  }
}

function truncate(value: string | undefined, max: number): string | null {
  return value ? value.slice(0, max) : null;
}
