import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { RESOLVED_SESSION_OPTIONS, SESSION_DATA_SOURCE } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { RateLimitedError } from '../errors/session-error';
import type { RateLimitRule } from './gcra';
import { rateLimitName, resolveRateLimit, type RateLimit } from './rate-limit-options';
import { SessionTelemetry } from '../telemetry/session-telemetry';
import type { SessionRateLimitStore } from './session-rate-limit-store';
import { MemoryRateLimitStore } from './memory-rate-limit.store';
import { PostgresRateLimitStore, refusedVerdict } from './postgres-rate-limit.store';

/** A refresh limit not spent yet: the session store spends it in the rotation's own statement. */
export interface PendingRateLimit {
  /** The key as stored (an HMAC). */
  key: string;
  rule: RateLimitRule;
  /** Per client address: a refusal may mean an untrusted proxy. */
  perIp: string | null;
  /** What metrics call the limit. */
  name: string;
}

/**
 * Rate limits on the store the module is configured with (by default the app's Postgres, so
 * they hold across instances). The library limits refresh with it; an app can limit its own
 * login or register routes with the same store. Keys are stored only as an HMAC under a key
 * derived from `sessionSecret`: no IP address or email lands in the table.
 *
 * @example
 * await limiter.consume(`login:account:${email}`, { limit: 5, window: '15m' }); // 429 beyond it
 */
@Injectable()
export class SessionRateLimiter {
  private readonly logger = new Logger('SessionRateLimiter');
  readonly store: SessionRateLimitStore;
  private lastProxyWarningMs = 0;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    @Inject(SESSION_DATA_SOURCE) dataSource: DataSource,
    @Optional() private readonly telemetry?: SessionTelemetry,
  ) {
    const store = options.rateLimits.store;
    this.store = store === 'postgres' ? new PostgresRateLimitStore(dataSource) : store === 'memory' ? new MemoryRateLimitStore() : store;
  }

  /**
   * Spends one attempt of `key` (any string, such as `login:ip:203.0.113.9`). Throws
   * `RateLimitedError` (429 `RATE_LIMITED`, with the seconds to wait) when none are left; a store
   * failure is a `SessionStoreUnavailableError` (503): limits fail closed.
   */
  async consume(key: string, limit: RateLimit): Promise<void> {
    await this.spend([{ key: this.hashKey(key), rule: resolveRateLimit(limit, 'limit'), perIp: null, name: rateLimitName(limit, 'limit') }]);
  }

  /**
   * A refresh attempt, counted before the token is looked at, so failing attempts count too:
   * per client address, then per session id (ids are public; the secret is not). Any store but
   * Postgres spends both here and returns none. With the Postgres store the address is spent
   * here, in a statement of its own, and the session's limit comes back unspent for the
   * rotation's statement (its row is the session's alone). The address's row is shared by every
   * client behind one address (a NAT, a proxy that is not trusted): spent inside the rotation,
   * its lock would be held until the rotation's commit reached the disk, and every refresh from
   * that address would wait for the one before it (BENCHMARKS.md §2).
   */
  async refreshAttempt(ip: string | undefined, sessionId: string | null): Promise<PendingRateLimit[]> {
    const { refreshPerIp, refreshPerSession } = this.options.rateLimits;
    if (refreshPerIp && ip) await this.spend([{ key: this.hashKey(`refresh:ip:${ip}`), rule: refreshPerIp, perIp: ip, name: 'refresh_ip' }]);
    const pending: PendingRateLimit[] = [];
    if (refreshPerSession && sessionId) pending.push({ key: this.hashKey(`refresh:session:${sessionId}`), rule: refreshPerSession, perIp: null, name: 'refresh_session' });
    if (this.store instanceof PostgresRateLimitStore) return pending;
    await this.spend(pending);
    return [];
  }

  /**
   * True the first time `key` is spent within `windowMs`, false again until then: a limit of one
   * per window, which is a set of seen keys that forgets each after the window (DPoP proof ids).
   */
  async consumeOnce(key: string, windowMs: number): Promise<boolean> {
    const verdict = await this.store.consume(this.storedKey(key), { limit: 1, windowMs }, Date.now());
    return verdict.allowed;
  }

  /** A key as the store keeps it: an HMAC, so no address, email or proof id is stored in the clear. */
  storedKey(key: string): string {
    return this.hashKey(key);
  }

  /** Spends pending limits on their own (a refresh that never reaches the rotation's statement). */
  async spend(pending: PendingRateLimit[]): Promise<void> {
    for (const limit of pending) {
      const verdict = await this.store.consume(limit.key, limit.rule, Date.now());
      if (!verdict.allowed) this.refuse(limit, verdict.retryAfterMs);
    }
  }

  /** A pending limit the rotation's statement found spent: 429 with the wait. */
  refusedInline(limit: PendingRateLimit, prior: string | null, nowMs: number): never {
    return this.refuse(limit, refusedVerdict(prior, limit.rule, nowMs * 1000).retryAfterMs);
  }

  /** The rotation's statement failed: a missing table is named once, as `consume` does. */
  explainFailure(error: unknown): void {
    if (this.store instanceof PostgresRateLimitStore) this.store.explainMissingTable(error);
  }

  private refuse(limit: PendingRateLimit, retryAfterMs: number): never {
    this.telemetry?.rateLimited(limit.name);
    if (limit.perIp) this.warnIfProxy(limit.perIp);
    throw new RateLimitedError(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  }

  private hashKey(key: string): string {
    return createHmac('sha256', this.options.rateLimitKey).update(key).digest('base64url');
  }

  /**
   * Behind a proxy the app does not trust, every client has the proxy's address and shares one
   * limit. Said at most once a minute, naming the address (never a token).
   */
  private warnIfProxy(ip: string): void {
    const now = Date.now();
    if (now - this.lastProxyWarningMs < 60_000) return;
    this.lastProxyWarningMs = now;
    this.logger.warn(
      `refresh rate limit per address reached for ${ip}; if that is your proxy or load balancer, set the adapter's trust proxy so clients are told apart`,
    );
  }
}
