import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { SessionTelemetry } from '../telemetry/session-telemetry';
import { LRUCache } from 'lru-cache';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { RESOLVED_SESSION_OPTIONS, SESSION_DATA_SOURCE } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { SessionStore } from '../store/session.store';
import { MAX_IDS_PER_MESSAGE, type RevocationTransport } from './revocation-message';
import { RevocationCodec } from './revocation-codec';
import { PostgresRevocationTransport } from './postgres-transport';
import { RedisRevocationTransport } from './redis-transport';
import { ListenerHeartbeat } from './listener-heartbeat';
import { backoffDelay } from './backoff';

interface LiveEntry {
  userId: string;
  /** When the read that found the session open began (this instance's clock). */
  checkedAt: number;
  /** When the session ends unless refreshed (`expires_at`): never answered past it. */
  endsAt: number;
  /** When `last_seen_at` was last written for this session, as far as this instance knows. */
  seenWrittenAt: number;
  /** The listener epoch the read belongs to: entries of an earlier epoch may have missed revocations. */
  epoch: number;
}

/**
 * Strict revocation with a bounded cache of sessions found open. Every revocation drops the
 * entry at once on this instance and, through the transport, within about a second on the
 * others, so the cache can answer for long: up to `revocation.cache.maxAge` (60 s) while the
 * listener proves with its heartbeat that it hears the bus, re-read in the background after
 * half of it. When the heartbeat is late (a silently dead connection), the cache answers
 * nothing and every check reads the database until the listener is proven alive again, and
 * entries from before are never trusted again. Without a bus (`revocation.bus: 'none'`) an entry
 * answers for `revocation.cache.ttl` (5 s). A check that was in flight when a revocation arrived
 * cannot put a session back.
 */
@Injectable()
export class SessionLiveness implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SessionRevocation');
  private readonly origin = randomUUID();
  private readonly cache: LRUCache<string, LiveEntry> | null;
  private readonly revalidating = new Set<string>();
  private transport: RevocationTransport | null = null;
  private heartbeat: ListenerHeartbeat | null = null;
  private readonly codec: RevocationCodec;
  /** Moves on every (re)connection and every lapse of the listener. */
  private epoch = 0;
  /** Moves on every revocation seen here: a read that overlapped one is not cached. */
  private revocations = 0;
  private refusedCount = 0;
  /** Removes this listener from the process's listener gauges. */
  private unwatch: (() => void) | null = null;
  private refusedLoggedAt = 0;
  private closed = false;
  private readonly endedListeners = new Set<(sessionIds: readonly string[]) => void>();

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly store: SessionStore,
    @Inject(SESSION_DATA_SOURCE) private readonly dataSource: DataSource,
    @Optional() private readonly telemetry?: SessionTelemetry,
  ) {
    const { max, ttlMs } = options.revocationCache;
    this.codec = new RevocationCodec(options.revocationKeys);
    this.cache = max > 0 && ttlMs > 0 ? new LRUCache<string, LiveEntry>({ max }) : null;
  }

  onModuleInit(): void {
    if (this.cache) this.telemetry?.watchCache('session', this.cache, (cache) => cache.size);
    this.unwatch = this.telemetry?.watchListener(() => ({ up: this.isListenerConnected(), ageSeconds: this.heartbeat?.ageSeconds(Date.now()) ?? null })) ?? null;
    if (this.options.revocation !== 'strict') return;
    const transport = this.createTransport(this.origin);
    if (!transport) return;
    const heartbeat = new ListenerHeartbeat(this.options.revocationHeartbeatMs, transport, () => this.newEpoch());
    this.transport = transport;
    this.heartbeat = heartbeat;
    transport.start({
      onMessage: (payload) => this.handlePayload(payload),
      onHeartbeat: (nonce) => heartbeat.received(nonce, Date.now()),
      onConnect: () => {
        this.newEpoch();
        heartbeat.connected(Date.now());
      },
      onDisconnect: () => {
        this.newEpoch();
        heartbeat.disconnected();
      },
    });
    heartbeat.start();
  }

  /** The broadcast of the configured `revocation.bus`, or null for none. */
  protected createTransport(origin: string): RevocationTransport | null {
    const bus = this.options.revocationBus;
    if (bus.kind === 'postgres') return new PostgresRevocationTransport(this.dataSource, origin);
    if (bus.kind === 'redis') return new RedisRevocationTransport(bus.url, origin);
    return null;
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    this.unwatch?.();
    this.heartbeat?.stop();
    await this.transport?.close();
  }

  /**
   * Whether this instance hears other instances' revocations right now (connected, and its
   * heartbeat comes back): true or false with a broadcast transport in strict mode, null when
   * there is no listener (stateless mode, `revocation.bus: 'none'`).
   */
  isListenerConnected(): boolean | null {
    if (!this.transport || !this.heartbeat) return null;
    return this.transport.isConnected() && this.heartbeat.isAlive(Date.now());
  }

  /**
   * Calls `listener` with the ids of sessions that ended, here or (through the bus) on another
   * instance, as soon as this instance knows: for whatever holds a session open outside a
   * request, such as a WebSocket. Returns a function that removes the listener.
   */
  onSessionsEnded(listener: (sessionIds: readonly string[]) => void): () => void {
    this.endedListeners.add(listener);
    return () => this.endedListeners.delete(listener);
  }

  /** True when the cache vouches for the session right now (no I/O); false means "ask `isLive`". */
  isCachedLive(sessionId: string, userId: string): boolean {
    const cached = this.cache?.get(sessionId);
    if (!cached || cached.userId !== userId || cached.epoch !== this.epoch) return false;
    const now = Date.now();
    const maxAge = this.answeringAge(now);
    const age = now - cached.checkedAt;
    if (age > maxAge || now >= cached.endsAt) return false;
    if (age > maxAge / 2) this.revalidate(sessionId, userId);
    this.touch(sessionId, cached, now);
    return true;
  }

  /** True when the session is open, from the cache or (on a miss) the database. */
  async isLive(sessionId: string, userId: string): Promise<boolean> {
    if (this.isCachedLive(sessionId, userId)) return true;
    return (await this.check(sessionId, userId)) !== null;
  }

  /**
   * Called after every revocation has committed: forget locally at once, then tell the others.
   * A broadcast that fails is retried in the background for as long as a cache entry elsewhere
   * could still answer for the session.
   */
  async revoked(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    this.forget(sessionIds);
    if (!this.transport) return;
    for (let i = 0; i < sessionIds.length; i += MAX_IDS_PER_MESSAGE) {
      const payload = this.codec.encode({ origin: this.origin, sessionIds: sessionIds.slice(i, i + MAX_IDS_PER_MESSAGE) });
      try {
        await this.transport.publish(payload);
      } catch {
        this.retryPublish(payload, Date.now() + this.options.revocationCache.maxAgeMs, 0);
      }
    }
  }

  /** How long an entry may answer right now; negative: the cache answers nothing. */
  private answeringAge(now: number): number {
    if (!this.heartbeat) return this.options.revocationCache.ttlMs;
    return this.heartbeat.isAlive(now) ? this.options.revocationCache.maxAgeMs : -1;
  }

  /** Entries read before now may have missed a revocation: none of them answers again. */
  private newEpoch(): void {
    this.epoch += 1;
    this.cache?.clear();
  }

  private retryPublish(payload: string, until: number, attempt: number): void {
    if (this.closed || !this.transport) return;
    if (Date.now() >= until) {
      this.logger.error('could not broadcast a revocation; other instances refuse the session once their cache entry ages out (revocation.cache.maxAge)');
      return;
    }
    const timer = setTimeout(() => {
      this.transport?.publish(payload).catch(() => this.retryPublish(payload, until, attempt + 1));
    }, backoffDelay(attempt));
    timer.unref();
    if (attempt === 0) this.logger.warn('could not broadcast a revocation; retrying');
  }

  /** A payload from the channel: an authentic message from another instance drops its sessions. */
  private handlePayload(payload: string): void {
    const message = this.codec.decode(payload);
    if (!message) return this.refused();
    if (message.origin === this.origin) return;
    this.forget(message.sessionIds);
    if (message.sentAt !== undefined) this.telemetry?.revocationApplied(message.sentAt, Date.now());
  }

  /**
   * A payload on the channel that is not an authentic message of this app: ignored. Logged at
   * most once a minute, with a count (a flood must not become a log flood either).
   */
  private refused(): void {
    this.refusedCount += 1;
    const now = Date.now();
    if (now - this.refusedLoggedAt < 60_000) return;
    this.refusedLoggedAt = now;
    this.logger.warn(`ignored ${this.refusedCount} revocation message(s) that failed authentication (forged, altered, stale or malformed)`);
    this.refusedCount = 0;
  }

  private forget(sessionIds: string[]): void {
    this.revocations += 1;
    for (const id of sessionIds) this.cache?.delete(id);
    for (const listener of this.endedListeners) {
      try {
        listener(sessionIds);
      } catch {
        this.logger.error('a listener of ended sessions threw; the others still ran');
      }
    }
  }

  /** Reads the row; caches the session when it is open and nothing happened meanwhile that could have ended it. */
  private async check(sessionId: string, userId: string): Promise<LiveEntry | null> {
    const started = Date.now();
    const epoch = this.epoch;
    const revocations = this.revocations;
    const live = await this.store.findLive(sessionId, userId, new Date(started));
    if (!live) {
      this.cache?.delete(sessionId);
      return null;
    }
    const previous = this.cache?.peek(sessionId);
    const entry: LiveEntry = {
      userId,
      checkedAt: started,
      endsAt: live.expiresAt.getTime(),
      seenWrittenAt: Math.max(previous?.seenWrittenAt ?? 0, live.lastSeenAt.getTime()),
      epoch,
    };
    // A revocation seen while the row was read may have committed after the read: not cached.
    if (this.cache && epoch === this.epoch && revocations === this.revocations && this.answeringAge(Date.now()) >= 0) {
      this.cache.set(sessionId, entry);
    }
    // Activity is recorded whether or not the answer could be cached (a listener not heard yet).
    this.touch(sessionId, entry, started);
    return entry;
  }

  private revalidate(sessionId: string, userId: string): void {
    if (this.revalidating.has(sessionId)) return;
    this.revalidating.add(sessionId);
    this.check(sessionId, userId)
      .catch(() => this.cache?.delete(sessionId)) // unknown now: the next request asks the database itself
      .finally(() => this.revalidating.delete(sessionId));
  }

  /** `last_seen_at` at most once per interval per session, off the request's critical path. */
  private touch(sessionId: string, entry: LiveEntry, now: number): void {
    const interval = this.options.lastSeenIntervalMs;
    if (interval <= 0 || now - entry.seenWrittenAt < interval) return;
    entry.seenWrittenAt = now;
    this.store.touch(sessionId, new Date(now)).catch(() => undefined);
  }
}
