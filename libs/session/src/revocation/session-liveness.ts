import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { RESOLVED_SESSION_OPTIONS } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { SessionStore } from '../store/session.store';
import { MAX_IDS_PER_MESSAGE, type RevocationTransport } from './revocation-message';
import { PostgresRevocationTransport } from './postgres-transport';
import { RedisRevocationTransport } from './redis-transport';

interface LiveEntry {
  userId: string;
  /** When `last_seen_at` was last written for this session, as far as this instance knows. */
  seenWrittenAt: number;
}

/**
 * Strict revocation with a bounded cache. A session found open is remembered for `cacheTtl`
 * (default 5 s); every revocation drops the entry at once on this instance and, through the
 * transport, within about a second on the others. When messages are lost (listener down), the
 * TTL bounds how long a revoked session can still pass; each reconnection clears the cache.
 */
@Injectable()
export class SessionLiveness implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SessionRevocation');
  private readonly origin = randomUUID();
  private readonly cache: LRUCache<string, LiveEntry> | null;
  private transport: RevocationTransport | null = null;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly store: SessionStore,
    private readonly dataSource: DataSource,
  ) {
    const { max, ttlMs } = options.revocationCache;
    this.cache = max > 0 && ttlMs > 0 ? new LRUCache<string, LiveEntry>({ max, ttl: ttlMs, ttlAutopurge: false }) : null;
  }

  onModuleInit(): void {
    if (this.options.revocation !== 'strict') return;
    const bus = this.options.revocationBus;
    this.transport =
      bus.kind === 'postgres' ? new PostgresRevocationTransport(this.dataSource) : bus.kind === 'redis' ? new RedisRevocationTransport(bus.url) : null;
    this.transport?.start(
      (message) => {
        if (message.origin !== this.origin) for (const id of message.sessionIds) this.cache?.delete(id);
      },
      () => this.cache?.clear(),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.transport?.close();
  }

  /** True when the cache vouches for the session right now (no I/O); false means "ask `isLive`". */
  isCachedLive(sessionId: string, userId: string): boolean {
    const cached = this.cache?.get(sessionId);
    if (!cached || cached.userId !== userId) return false;
    this.touch(sessionId, cached, Date.now());
    return true;
  }

  /** True when the session is open, from the cache or (on a miss) the database. */
  async isLive(sessionId: string, userId: string): Promise<boolean> {
    const now = Date.now();
    const cached = this.cache?.get(sessionId);
    if (cached && cached.userId === userId) {
      this.touch(sessionId, cached, now);
      return true;
    }
    const live = await this.store.findLive(sessionId, userId, new Date(now));
    if (!live) return false;
    const entry = { userId, seenWrittenAt: Math.max(cached?.seenWrittenAt ?? 0, live.lastSeenAt.getTime()) };
    this.cache?.set(sessionId, entry);
    this.touch(sessionId, entry, now);
    return true;
  }

  /** Called after every revocation has committed: forget locally at once, then tell the others. */
  async revoked(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    for (const id of sessionIds) this.cache?.delete(id);
    if (!this.transport) return;
    try {
      for (let i = 0; i < sessionIds.length; i += MAX_IDS_PER_MESSAGE) {
        await this.transport.publish({ origin: this.origin, sessionIds: sessionIds.slice(i, i + MAX_IDS_PER_MESSAGE) });
      }
    } catch {
      // The revocation itself has committed; other instances catch up within the cache TTL.
      this.logger.warn('could not broadcast a revocation; other instances refuse it within the cache TTL');
    }
  }

  /** `last_seen_at` at most once per interval per session, off the request's critical path. */
  private touch(sessionId: string, entry: LiveEntry, now: number): void {
    const interval = this.options.lastSeenIntervalMs;
    if (interval <= 0 || now - entry.seenWrittenAt < interval) return;
    entry.seenWrittenAt = now;
    this.store.touch(sessionId, new Date(now)).catch(() => undefined);
  }
}
