import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
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

interface LiveEntry {
  userId: string;
  /** When the database last confirmed the session open (this instance's clock). */
  checkedAt: number;
  /** When `last_seen_at` was last written for this session, as far as this instance knows. */
  seenWrittenAt: number;
}

/**
 * Strict revocation with a bounded cache. A session found open is remembered for `cacheTtl`
 * (default 5 s) and never answered from the cache after that; an entry past half its TTL is
 * re-checked in the background while it still answers, so busy sessions rarely wait for the
 * database. Every revocation drops the entry at once on this instance and, through the
 * transport, within about a second on the others; a check that was in flight when a revocation
 * arrived cannot put the session back. When messages are lost (listener down), the TTL bounds
 * how long a revoked session can still pass; each reconnection clears the cache.
 */
@Injectable()
export class SessionLiveness implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SessionRevocation');
  private readonly origin = randomUUID();
  private readonly cache: LRUCache<string, LiveEntry> | null;
  /** Sessions revoked within the last TTL: an in-flight check must not cache them again. */
  private readonly recentlyRevoked: LRUCache<string, true> | null;
  private readonly revalidating = new Set<string>();
  private transport: RevocationTransport | null = null;
  private readonly codec: RevocationCodec;
  private refusedCount = 0;
  private refusedLoggedAt = 0;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly store: SessionStore,
    @Inject(SESSION_DATA_SOURCE) private readonly dataSource: DataSource,
  ) {
    const { max, ttlMs } = options.revocationCache;
    this.codec = new RevocationCodec(options.revocationKeys);
    const enabled = max > 0 && ttlMs > 0;
    this.cache = enabled ? new LRUCache<string, LiveEntry>({ max, ttl: ttlMs, ttlAutopurge: false }) : null;
    this.recentlyRevoked = enabled ? new LRUCache<string, true>({ max, ttl: ttlMs }) : null;
  }

  onModuleInit(): void {
    if (this.options.revocation !== 'strict') return;
    const bus = this.options.revocationBus;
    this.transport =
      bus.kind === 'postgres' ? new PostgresRevocationTransport(this.dataSource) : bus.kind === 'redis' ? new RedisRevocationTransport(bus.url) : null;
    this.transport?.start(
      (payload) => this.handlePayload(payload),
      () => this.cache?.clear(),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.transport?.close();
  }

  /**
   * Whether this instance hears other instances' revocations right now: true or false with a
   * broadcast transport in strict mode, null when there is no listener to be connected
   * (stateless mode, `revocationBus: 'none'`).
   */
  isListenerConnected(): boolean | null {
    return this.transport ? this.transport.isConnected() : null;
  }

  /** True when the cache vouches for the session right now (no I/O); false means "ask `isLive`". */
  isCachedLive(sessionId: string, userId: string): boolean {
    const cached = this.cache?.get(sessionId);
    if (!cached || cached.userId !== userId) return false;
    const now = Date.now();
    if (now - cached.checkedAt > this.options.revocationCache.ttlMs / 2) this.revalidate(sessionId, userId);
    this.touch(sessionId, cached, now);
    return true;
  }

  /** True when the session is open, from the cache or (on a miss) the database. */
  async isLive(sessionId: string, userId: string): Promise<boolean> {
    if (this.isCachedLive(sessionId, userId)) return true;
    return (await this.check(sessionId, userId)) !== null;
  }

  /** Called after every revocation has committed: forget locally at once, then tell the others. */
  async revoked(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    this.forget(sessionIds);
    if (!this.transport) return;
    try {
      for (let i = 0; i < sessionIds.length; i += MAX_IDS_PER_MESSAGE) {
        await this.transport.publish(this.codec.encode({ origin: this.origin, sessionIds: sessionIds.slice(i, i + MAX_IDS_PER_MESSAGE) }));
      }
    } catch {
      // The revocation itself has committed; other instances catch up within the cache TTL.
      this.logger.warn('could not broadcast a revocation; other instances refuse it within the cache TTL');
    }
  }

  /** A payload from the channel: an authentic message from another instance drops its sessions. */
  private handlePayload(payload: string): void {
    const message = this.codec.decode(payload);
    if (!message) return this.refused();
    if (message.origin !== this.origin) this.forget(message.sessionIds);
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
    for (const id of sessionIds) {
      this.cache?.delete(id);
      this.recentlyRevoked?.set(id, true);
    }
  }

  /** Reads the row; caches the session when it is open and was not revoked meanwhile. */
  private async check(sessionId: string, userId: string): Promise<LiveEntry | null> {
    const started = Date.now();
    const live = await this.store.findLive(sessionId, userId, new Date(started));
    if (!live) {
      this.cache?.delete(sessionId);
      return null;
    }
    const previous = this.cache?.peek(sessionId);
    const entry: LiveEntry = {
      userId,
      checkedAt: started,
      seenWrittenAt: Math.max(previous?.seenWrittenAt ?? 0, live.lastSeenAt.getTime()),
    };
    // The TTL counts from when the read began, so no answer rests on a check older than the TTL.
    const ttl = this.options.revocationCache.ttlMs - (Date.now() - started);
    if (ttl > 0 && !this.recentlyRevoked?.has(sessionId)) {
      this.cache?.set(sessionId, entry, { ttl });
      this.touch(sessionId, entry, started);
    }
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
