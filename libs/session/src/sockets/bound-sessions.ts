import type { SessionTelemetry } from '../telemetry/session-telemetry';
import type { Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { ResolvedSessionOptions } from '../resolve-options';
import type { SessionService } from '../session.service';
import type { SessionLiveness } from '../revocation/session-liveness';
import type { SessionUser, UserId } from '../session.types';
import { SOCKET_SESSION_ENDED_EVENT, SOCKET_SESSION_EVENT, type SessionEndedPayload, type SessionEndedReason, type SessionSocket } from './session-socket';

/** What a handshake proved, kept until `bind` (and afterwards, for the socket's life). */
export interface Binding {
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
   * each read of the user. Unconfirmed for an access-token lifetime and `revocation.cache.maxAge`
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
 * `SessionSockets`' bookkeeping: the sockets bound on this instance by session, and everything
 * that ends them (revocation broadcasts, the per-session timer that reads the session's end and
 * the user, strict mode's periodic sweep). See `SessionSockets` for the bounds each one keeps.
 */
export class BoundSessions {
  private readonly bound = new Map<string, BoundSession>();
  private readonly ended = new LRUCache<string, SessionEndedReason>({ max: 100_000, ttl: ENDED_MEMORY_MS });
  private liveness: SessionLiveness | null = null;
  private unsubscribe: (() => void) | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping = false;

  constructor(
    private readonly options: ResolvedSessionOptions,
    private readonly sessions: Pick<SessionService, 'sessionEnd' | 'currentUser'>,
    private readonly logger: Logger,
    private readonly telemetry?: Pick<SessionTelemetry, 'socketEnded'>,
  ) {}

  /** Subscribes to ended sessions and, in strict mode, starts the periodic check. */
  start(liveness: SessionLiveness): void {
    this.liveness = liveness;
    this.unsubscribe = liveness.onSessionsEnded((ids) => this.sessionsEnded(ids));
    if (this.options.revocation === 'strict') {
      this.sweepTimer = setInterval(() => this.sweep(), this.sweepIntervalMs());
      this.sweepTimer.unref();
    }
  }

  /** Stops the timers and forgets the bound sockets. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const entry of this.bound.values()) if (entry.timer) clearTimeout(entry.timer);
    this.bound.clear();
  }

  /** How the session ended, when it ended within the last few minutes; undefined otherwise. */
  endedFor(sessionId: string): SessionEndedReason | undefined {
    return this.ended.get(sessionId);
  }

  /**
   * Binds a connected socket to the session its handshake proved and emits `session`; a session
   * that ended since the handshake ends the socket instead. Returns whether the socket stays.
   */
  add(socket: SessionSocket, binding: Binding): boolean {
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
      this.telemetry?.socketEnded(reason);
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
      // Roles nobody could confirm for a token lifetime and then revocation.cache.maxAge (the
      // longest a cached answer stands): the sockets go, without session.ended (it may well be
      // live), and their handshakes answer 503 until the store does. A shorter blip keeps them.
      const deadline = entry.rolesConfirmedAtMs + this.options.accessTokenTtlMs + this.options.revocationCache.maxAgeMs;
      if (Date.now() >= deadline) {
        const dropped = this.dropUnchecked(entry);
        if (dropped > 0) this.logger.warn(`disconnected ${dropped} socket(s) whose roles could not be read for an access-token lifetime and revocation.cache.maxAge (the session store or loadUser is failing)`);
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
   * outage). But no socket stays unchecked for longer than `revocation.cache.maxAge` since its
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
          this.logger.warn(`disconnected ${unchecked} socket(s) whose session could not be checked for revocation.cache.maxAge (the session store is unavailable)`);
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
