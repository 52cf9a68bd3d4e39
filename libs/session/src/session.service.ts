import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { RESOLVED_SESSION_OPTIONS } from './session.constants';
import type { ResolvedSessionOptions } from './resolve-options';
import { AccessTokenService, type AccessClaims } from './tokens/access-token';
import {
  formatRefreshToken,
  hashesEqual,
  hashRefreshSecret,
  newRefreshSecret,
  newSessionId,
  parseRefreshToken,
} from './tokens/refresh-token';
import { mintCsrfToken } from './tokens/csrf-token';
import { SessionStore, type CurrentRotationResult, type RefreshRow } from './store/session.store';
import { SessionEvents } from './events/session-events';
import { SessionLiveness } from './revocation/session-liveness';
import { SessionRateLimiter, type PendingRateLimit } from './rate-limit/session-rate-limiter';
import {
  RateLimitedError,
  ReauthenticationRequiredError,
  SessionError,
  SessionLimitReachedError,
  SessionRevokedError,
  SessionStoreUnavailableError,
  UnauthenticatedError,
} from './errors/session-error';
import type { RevokeReason, SessionInfo, SessionListItem, SessionTransport, SessionUser, UserId } from './session.types';
import { restoreUserId, storeUserId } from './user-id';
import { checkLifetimes } from './resolve-options';
import { parseDuration } from './duration';

/** Who is logging in, as the edge read it from the request. Plain data: no request or response. */
export interface IssueClient {
  /** `cookie` (default) or `bearer`; must be one of the app's `transports`. */
  transport?: SessionTransport;
  /** The user asked to stay signed in: the `rememberMe` profile (when the app has one). */
  rememberMe?: boolean;
  userAgent?: string;
  ip?: string;
}

/** Who is refreshing, as the edge read it: the address the refresh limits count per client. */
export interface RefreshClient {
  ip?: string;
}

/** What a login or refresh produced. Plain data; `SessionHttp` turns it into cookies or a body. */
export interface SessionGrant {
  sessionId: string;
  transport: SessionTransport;
  csrfToken: string;
  accessToken: string;
  accessTokenExpiresAt: Date;
  sessionExpiresAt: Date;
  /** False when the cookies should end with the browser session ("remember me" not asked for). */
  persistent: boolean;
  /** Absent after a grace-window refresh: the client keeps the refresh token it has. */
  refreshToken?: string;
}

/** A refresh token as the edge found it: the cookie, or a bearer client's body. */
export interface PresentedRefreshToken {
  token: string;
  via: 'cookie' | 'body';
}

/** The user and session of a verified access token. */
export interface AuthenticatedSession<Id extends UserId = UserId> {
  user: SessionUser<Id>;
  session: SessionInfo<Id>;
  claims: AccessClaims;
}

type Match = 'current' | 'previous' | 'older';

/**
 * The session lifecycle: issue, refresh (rotation with reuse detection), revoke, list, and
 * validation of access tokens. Every decision about expiry is taken from the database row and
 * the server clock, never from a cookie or a claim the client could edit.
 */
@Injectable()
export class SessionService {
  private readonly logger = new Logger('SessionService');

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly store: SessionStore,
    private readonly accessTokens: AccessTokenService,
    private readonly events: SessionEvents,
    private readonly liveness: SessionLiveness,
    private readonly limiter: SessionRateLimiter,
  ) {}

  /**
   * Starts a new session for a user whose credentials the app has just checked. Always a new
   * session id and refresh token: a session or token the client already holds is never adopted.
   * Returns the tokens as data; in an HTTP handler use `SessionHttp.login`, which writes them.
   *
   * @example
   * const grant = await sessions.issue({ id: user.id, roles: user.roles }, { transport: 'bearer' });
   */
  async issue(user: SessionUser<UserId>, client: IssueClient = {}): Promise<SessionGrant> {
    const id = storeUserId(user?.id);
    const roles = normaliseRoles(user?.roles);
    const transport = this.chooseTransport(client.transport);
    const nowMs = Date.now();
    const now = new Date(nowMs);
    const sessionId = newSessionId();
    const secret = newRefreshSecret();
    const profile = this.profile(user, client.rememberMe === true);
    const absoluteExpiresAt = new Date(nowMs + profile.absoluteTimeoutMs);
    const expiresAt = this.idleExpiry(nowMs, absoluteExpiresAt, profile.idleTimeoutMs);
    // Everything the client gets is made before the row is written: nothing can fail between the
    // write and the return and leave a session that nobody holds.
    const access = this.accessTokens.sign({ id: user.id, roles }, sessionId, nowMs, absoluteExpiresAt.getTime());
    const grant = this.grant(transport, sessionId, access, expiresAt, profile.persistent, formatRefreshToken(sessionId, secret));
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
    };
    const limit = this.options.sessionLimit;
    if (!limit) {
      await this.store.insert(row);
    } else {
      const { inserted, evicted } = await this.store.insertWithinLimit(row, limit.max, limit.evict);
      if (!inserted) throw new SessionLimitReachedError();
      if (evicted.length > 0) await this.revoked(user.id, evicted, 'session_limit', now);
    }
    this.events.emit('issued', { sessionId, userId: user.id, at: now });
    return grant;
  }

  /**
   * Ends a session whose tokens never reached its client (the login response failed), so no
   * live session is left that nobody holds. Never throws: the caller is already failing.
   */
  async abandon(sessionId: string): Promise<void> {
    try {
      await this.revokeSession(sessionId, 'not_delivered', new Date());
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
  async refresh(presented: PresentedRefreshToken, client: RefreshClient = {}): Promise<SessionGrant> {
    const seen: { sessionId: string | null; userId: UserId | null } = { sessionId: null, userId: null };
    try {
      return await this.rotate(presented, client, seen);
    } catch (error) {
      const code = error instanceof SessionError ? error.code : 'SERVICE_UNAVAILABLE';
      this.events.emit('refresh_failed', { ...seen, at: new Date(), code });
      throw error;
    }
  }

  /** `refresh` itself; records in `seen` what the token named, for the failure event. */
  private async rotate(presented: PresentedRefreshToken, client: RefreshClient, seen: { sessionId: string | null; userId: UserId | null }): Promise<SessionGrant> {
    const parsed = parseRefreshToken(presented.token);
    seen.sessionId = parsed?.sessionId ?? null;
    // Counted before the secret is checked: guessing costs attempts, and a session id alone
    // (which is not secret) cannot be used to make the database work without limit.
    const limits = await this.limiter.refreshAttempt(client.ip, parsed?.sessionId ?? null);
    if (!parsed) {
      await this.limiter.spend(limits);
      throw new UnauthenticatedError();
    }
    // Under every pepper still accepted: a session rotated before a sessionSecret change still matches.
    const hashes = this.options.refreshPeppers.map((pepper) => hashRefreshSecret(parsed.secret, pepper));
    const rotated = await this.rotateCurrent(parsed.sessionId, hashes, presented.via, limits, seen);
    if (rotated) return rotated;
    // Not the current secret of an open session of this transport: classify it with the full row.
    for (let attempt = 0; attempt < 2; attempt++) {
      const row = await this.store.findForRefresh(parsed.sessionId);
      if (!row) throw new UnauthenticatedError();
      seen.userId = restoreUserId(row.userId, row.userIdNumeric);
      const match = await this.classify(parsed.sessionId, row, hashes);
      if (!match) throw new UnauthenticatedError();
      if (row.revokedAt) {
        // A session the cleanup found ran out answers as if it had just been noticed.
        throw row.revokeReason === 'idle_timeout' || row.revokeReason === 'absolute_timeout' ? new ReauthenticationRequiredError() : new SessionRevokedError();
      }
      const nowMs = Date.now();
      const now = new Date(nowMs);
      if (nowMs >= row.expiresAt.getTime()) {
        const reason = nowMs >= row.absoluteExpiresAt.getTime() ? 'absolute_timeout' : 'idle_timeout';
        await this.revokeSession(parsed.sessionId, reason, now);
        throw new ReauthenticationRequiredError();
      }
      const inGrace =
        match === 'previous' &&
        this.options.refreshReuseGraceMs > 0 &&
        row.rotatedAt !== null &&
        nowMs - row.rotatedAt.getTime() <= this.options.refreshReuseGraceMs;
      if (match !== 'current' && !inGrace) {
        await this.revokeSession(parsed.sessionId, 'reuse_detected', now);
        this.logger.warn(`refresh token reuse detected; session ${parsed.sessionId} of user ${row.userId} revoked`);
        this.events.emit('reuse_detected', { sessionId: parsed.sessionId, userId: restoreUserId(row.userId, row.userIdNumeric), at: now });
        throw new SessionRevokedError();
      }
      // A cookie session never refreshes into body tokens, nor a bearer one into cookies. A genuine
      // HttpOnly cookie secret arriving in a body was taken out of the browser: end the session.
      if ((row.transport === 'cookie') !== (presented.via === 'cookie')) {
        await this.revokeSession(parsed.sessionId, 'transport_mismatch', now);
        this.logger.warn(`refresh token sent over the wrong transport; session ${parsed.sessionId} of user ${row.userId} revoked`);
        throw new SessionRevokedError();
      }
      // Roles are re-read at every refresh, before the rotating write (one connection: no nesting).
      const user = await this.loadUser(restoreUserId(row.userId, row.userIdNumeric));
      if (!user) {
        await this.revokeSession(parsed.sessionId, 'user_disabled', now);
        throw new SessionRevokedError();
      }
      if (inGrace) {
        // The previous secret may mint a few access tokens (parallel tabs), not any number of them.
        if (!(await this.store.countGraceHit(parsed.sessionId, row.generation, this.options.graceRefreshLimit))) {
          throw new RateLimitedError(Math.max(1, Math.ceil(this.options.refreshReuseGraceMs / 1000)));
        }
        const access = this.accessTokens.sign(user, parsed.sessionId, nowMs, row.absoluteExpiresAt.getTime(), row.authenticatedAt.getTime());
        return this.grant(row.transport, parsed.sessionId, access, row.expiresAt, row.persistent);
      }
      const secret = newRefreshSecret();
      const expiresAt = this.idleExpiry(nowMs, row.absoluteExpiresAt, row.idleTimeoutMs ?? this.options.idleTimeoutMs);
      const rotated = await this.store.rotate(
        parsed.sessionId,
        row.generation,
        hashRefreshSecret(secret, this.options.refreshPepper),
        now,
        expiresAt,
        this.options.lineageSize,
      );
      // Lost the race to a parallel refresh of the same secret: read again, now as the previous one.
      if (!rotated) continue;
      const access = this.accessTokens.sign(user, parsed.sessionId, nowMs, row.absoluteExpiresAt.getTime(), row.authenticatedAt.getTime());
      this.events.emit('refreshed', { sessionId: parsed.sessionId, userId: user.id, at: now });
      return this.grant(row.transport, parsed.sessionId, access, expiresAt, row.persistent, formatRefreshToken(parsed.sessionId, secret));
    }
    throw new SessionRevokedError();
  }

  /**
   * The common refresh, one round trip: the limits are spent and the current secret rotates in
   * one statement. Null when the secret is not the current one of an open session of this
   * transport (the caller classifies it). The app's `loadUser` runs after the write, as no
   * connection is held then; if it fails, the rotation is undone, so the secret the client still
   * holds stays current instead of turning into reuse.
   */
  private async rotateCurrent(
    sessionId: string,
    hashes: Buffer[],
    via: PresentedRefreshToken['via'],
    limits: PendingRateLimit[],
    seen: { sessionId: string | null; userId: UserId | null },
  ): Promise<SessionGrant | null> {
    const secret = newRefreshSecret();
    const newHash = hashRefreshSecret(secret, this.options.refreshPepper);
    const nowMs = Date.now();
    const now = new Date(nowMs);
    let result: CurrentRotationResult;
    try {
      result = await this.store.rotateCurrent({
        id: sessionId,
        hashes,
        newHash,
        now,
        idleTimeoutMs: this.options.idleTimeoutMs,
        lineageSize: this.options.lineageSize,
        viaCookie: via === 'cookie',
        limits,
      });
    } catch (error) {
      this.limiter.explainFailure(error);
      throw error;
    }
    if (result.outcome === 'limited') this.limiter.refusedInline(limits[result.index], result.prior, nowMs);
    if (result.outcome !== 'rotated') return null;
    const row = result.row;
    const userId = restoreUserId(row.userId, row.userIdNumeric);
    seen.userId = userId;
    let user: SessionUser<UserId> | null;
    try {
      user = await this.loadUser(userId);
    } catch (error) {
      await this.store.undoRotation(sessionId, row.generation, newHash, row.previousRotatedAt).catch(() => false);
      throw error;
    }
    if (!user) {
      await this.revokeSession(sessionId, 'user_disabled', now);
      throw new SessionRevokedError();
    }
    const access = this.accessTokens.sign(user, sessionId, nowMs, row.absoluteExpiresAt.getTime(), row.authenticatedAt.getTime());
    this.events.emit('refreshed', { sessionId, userId: user.id, at: now });
    return this.grant(row.transport, sessionId, access, row.expiresAt, row.persistent, formatRefreshToken(sessionId, secret));
  }

  /**
   * Verifies an access token (signature, `typ`, `iss`, `aud`, claims, expiry) and, in strict
   * mode, that its session is still open. For use outside HTTP guards (websockets, jobs).
   */
  async validateAccessToken<Id extends UserId = UserId>(token: string): Promise<AuthenticatedSession<Id>> {
    const claims = this.accessTokens.verify(token, Date.now());
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
   * null when nothing was proven (logout still clears the cookies).
   */
  async logout(refresh: PresentedRefreshToken | null, accessToken: string | null): Promise<string | null> {
    const sessionId = (await this.sessionOfRefreshToken(refresh)) ?? (accessToken ? this.accessTokens.sessionIdOf(accessToken, Date.now()) : null);
    if (!sessionId) return null;
    await this.revoke(sessionId, 'logout');
    return sessionId;
  }

  /**
   * Revokes one session. With `userId`, only if it belongs to that user; returns whether a
   * session of that user exists (already revoked counts), so callers can answer 404 otherwise.
   */
  async revoke(sessionId: string, reason: RevokeReason = 'revoked', userId?: UserId): Promise<boolean> {
    const now = new Date();
    const owner = userId === undefined ? undefined : storeUserId(userId).text;
    if (await this.revokeSession(sessionId, reason, now, owner)) return true;
    return owner === undefined ? false : this.store.belongsTo(sessionId, owner);
  }

  /** Ends every session of a user (logout-all, password change, account disabled). */
  async revokeAllForUser(userId: UserId, reason: RevokeReason = 'logout_all'): Promise<string[]> {
    const now = new Date();
    return this.revoked(userId, await this.store.revokeUserSessions(storeUserId(userId).text, reason, now), reason, now);
  }

  /**
   * A per-user "not before": ends every session of the user started before `before` (password
   * change, account disabled), so their refresh tokens fail in both modes and, in strict mode,
   * their access tokens too. Sessions started later are untouched.
   */
  async revokeIssuedBefore(userId: UserId, before: Date, reason: RevokeReason = 'not_before'): Promise<string[]> {
    const now = new Date();
    return this.revoked(userId, await this.store.revokeUserSessions(storeUserId(userId).text, reason, now, before), reason, now);
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
    return this.revoked(userId, await this.store.revokeUserSessions(storeUserId(userId).text, reason, now, undefined, keepSessionId), reason, now);
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
    const user = await this.loadUser(restoreUserId(storeUserId(userId).text, row.userIdNumeric));
    if (!user) {
      await this.revokeSession(sessionId, 'user_disabled', now);
      throw new SessionRevokedError();
    }
    const access = this.accessTokens.sign(user, sessionId, nowMs, row.absoluteExpiresAt.getTime(), nowMs);
    this.events.emit('reauthenticated', { sessionId, userId: user.id, at: now });
    return this.grant(row.transport, sessionId, access, row.expiresAt, row.persistent);
  }

  /**
   * The session's user as `loadUser` reads them now, as a refresh would: for what holds a session
   * open without refreshing it (sockets), so a demotion reaches it within the same bound. Null when
   * `loadUser` no longer knows the user; the session is then revoked, as a refresh would.
   */
  async currentUser(sessionId: string, userId: UserId): Promise<SessionUser<UserId> | null> {
    const user = await this.loadUser(userId);
    if (!user) await this.revokeSession(sessionId, 'user_disabled', new Date());
    return user;
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

  private async revokeSession(sessionId: string, reason: RevokeReason, now: Date, userId?: string): Promise<boolean> {
    const owner = await this.store.revoke(sessionId, reason, now, userId);
    if (owner) await this.revoked(restoreUserId(owner.userId, owner.userIdNumeric), [sessionId], reason, now);
    return owner !== null;
  }

  /** After revocations commit: invalidate caches everywhere, then tell the app. */
  private async revoked(userId: UserId, sessionIds: string[], reason: RevokeReason, now: Date): Promise<string[]> {
    await this.liveness.revoked(sessionIds);
    for (const sessionId of sessionIds) this.events.emit('revoked', { sessionId, userId, at: now, reason });
    return sessionIds;
  }

  private async sessionOfRefreshToken(refresh: PresentedRefreshToken | null): Promise<string | null> {
    const parsed = refresh ? parseRefreshToken(refresh.token) : null;
    if (!parsed) return null;
    const row = await this.store.findForRefresh(parsed.sessionId);
    if (!row) return null;
    const hashes = this.options.refreshPeppers.map((pepper) => hashRefreshSecret(parsed.secret, pepper));
    return (await this.classify(parsed.sessionId, row, hashes)) ? parsed.sessionId : null;
  }

  /**
   * Which of the session's secrets this is, compared in constant time: the current one, the
   * previous one, an older one of the lineage (read only now: the common case never needs it),
   * or none it ever issued.
   */
  private async classify(sessionId: string, row: RefreshRow, hashes: Buffer[]): Promise<Match | null> {
    const matches = (stored: Buffer | null | undefined) => hashes.reduce((found, hash) => hashesEqual(stored, hash) || found, false);
    if (matches(row.secretHash)) return 'current';
    if (matches(row.previousHash)) return 'previous';
    if (!row.previousHash) return null;
    const lineage = await this.store.findLineage(sessionId);
    let found = false;
    // Walk the whole lineage so the time taken does not say which generation matched.
    for (let i = 1; i < lineage.length; i++) found = matches(lineage[i]) || found;
    return found ? 'older' : null;
  }

  /** The app's loader failing (its database down) fails closed: the edge answers 503, never 500. */
  private async loadUser(userId: UserId): Promise<SessionUser<UserId> | null> {
    let user: SessionUser<UserId> | null;
    try {
      user = await this.options.loadUser(userId);
    } catch {
      this.logger.error('loadUser failed during a refresh');
      throw new SessionStoreUnavailableError('loadUser');
    }
    // The session's own user id stays authoritative, in the type it was issued with.
    return user ? { id: userId, roles: normaliseRoles(user.roles) } : null;
  }

  private idleExpiry(nowMs: number, absoluteExpiresAt: Date, idleTimeoutMs: number): Date {
    return new Date(Math.min(nowMs + idleTimeoutMs, absoluteExpiresAt.getTime()));
  }

  /**
   * The lifetimes and cookie kind of a new session: "remember me" when asked for and the app has
   * that profile, then the app's `sessionLifetime` for this user, checked like the options are.
   */
  private profile(user: SessionUser<UserId>, rememberMe: boolean): { idleTimeoutMs: number; absoluteTimeoutMs: number; persistent: boolean } {
    const { rememberMe: long, sessionLifetime } = this.options;
    const remembered = rememberMe && long !== null;
    let idleTimeoutMs = remembered ? long.idleTimeoutMs : this.options.idleTimeoutMs;
    let absoluteTimeoutMs = remembered ? long.absoluteTimeoutMs : this.options.absoluteTimeoutMs;
    const chosen = sessionLifetime?.(user, rememberMe);
    if (chosen) {
      try {
        const idle = chosen.idleTimeout === undefined ? idleTimeoutMs : parseDuration(chosen.idleTimeout, 'idleTimeout') * 1000;
        const absolute = chosen.absoluteTimeout === undefined ? absoluteTimeoutMs : parseDuration(chosen.absoluteTimeout, 'absoluteTimeout') * 1000;
        ({ idleTimeoutMs, absoluteTimeoutMs } = checkLifetimes(idle, absolute, this.options.accessTokenTtlMs, (message) => new Error(message)));
      } catch (error) {
        // The app's bug must not cost the user their login: the profile's own lifetimes are safe.
        this.logger.error(`sessionLifetime returned a lifetime that cannot be used (${(error as Error).message}); the profile's lifetimes apply`);
      }
    }
    // Without a "remember me" profile every session keeps persistent cookies, as before it existed.
    return { idleTimeoutMs, absoluteTimeoutMs, persistent: long === null || rememberMe };
  }

  private chooseTransport(asked: SessionTransport = 'cookie'): SessionTransport {
    if (!this.options.transports.has(asked)) {
      throw new SessionError('VALIDATION_FAILED', HttpStatus.BAD_REQUEST, `The ${asked === 'bearer' ? 'bearer' : 'cookie'} transport is not enabled.`);
    }
    return asked;
  }

  private grant(
    transport: SessionTransport,
    sessionId: string,
    access: { token: string; expiresAt: Date },
    sessionExpiresAt: Date,
    persistent: boolean,
    refreshToken?: string,
  ): SessionGrant {
    return {
      sessionId,
      transport,
      csrfToken: this.csrfTokenFor(sessionId),
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      sessionExpiresAt,
      persistent,
      ...(refreshToken ? { refreshToken } : {}),
    };
  }
}

/** What a verified access token says, as much as the user and session objects need. */
export interface AuthenticatedFields {
  sid: string;
  /** The user id in the app's type: `uid` (a number) when present, else `sub`. */
  userId: UserId;
  roles: readonly string[];
  exp: number;
  /** `auth_time` in milliseconds, or null when the token has none. */
  authenticatedAtMs: number | null;
}

/** The user and session a handler sees: new objects each time (a handler may change them). */
export function authenticatedFrom<Id extends UserId = UserId>(fields: AuthenticatedFields, tokenSource: 'cookie' | 'bearer'): Pick<AuthenticatedSession<Id>, 'user' | 'session'> {
  const id = fields.userId as Id;
  return {
    user: { id, roles: fields.roles.slice() },
    session: {
      id: fields.sid,
      userId: id,
      tokenSource,
      accessTokenExpiresAt: new Date(fields.exp * 1000),
      authenticatedAt: fields.authenticatedAtMs === null ? null : new Date(fields.authenticatedAtMs),
    },
  };
}

function toAuthenticated<Id extends UserId = UserId>(claims: AccessClaims, tokenSource: 'cookie' | 'bearer'): AuthenticatedSession<Id> {
  const fields: AuthenticatedFields = {
    sid: claims.sid,
    userId: claims.uid ?? claims.sub,
    roles: claims.roles,
    exp: claims.exp,
    authenticatedAtMs: typeof claims.auth_time === 'number' ? claims.auth_time * 1000 : null,
  };
  return { claims, ...authenticatedFrom<Id>(fields, tokenSource) };
}

export { toAuthenticated };

function normaliseRoles(roles: unknown): string[] {
  return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [];
}

function truncate(value: string | undefined, max: number): string | null {
  return value ? value.slice(0, max) : null;
}
