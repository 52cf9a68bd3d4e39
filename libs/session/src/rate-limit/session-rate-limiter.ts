import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { RESOLVED_SESSION_OPTIONS, SESSION_DATA_SOURCE } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { RateLimitedError } from '../errors/session-error';
import type { RateLimitRule, RateLimitVerdict } from './gcra';
import { rateLimitName, resolveRateLimit, type RateLimit } from './rate-limit-options';
import { SessionTelemetry } from '../telemetry/session-telemetry';
import type { SessionRateLimitStore } from './session-rate-limit-store';
import { MemoryRateLimitStore } from './memory-rate-limit.store';
import { PostgresRateLimitStore, refusedVerdict } from './postgres-rate-limit.store';

/** A refresh limit not spent yet: the session store spends it in the rotation's own statement. */
export interface PendingRateLimit {
  /** The key as stored (an HMAC); the session's id for a limit kept in its row (`inSessionRow`). */
  key: string;
  rule: RateLimitRule;
  /** Per client address: a refusal may mean an untrusted proxy. */
  perIp: string | null;
  /** What metrics call the limit. */
  name: string;
  /**
   * Charged only if the attempt fails (the address's limit): until then it is only checked, by
   * the rotation's statement, so a good refresh from a busy address takes no row lock of it.
   */
  onFailure?: boolean;
  /**
   * Kept in the session's own row (the session's limit, with the Postgres store): the rotation's
   * update spends it, so a refresh writes no second table; a refresh that did not rotate spends
   * it before its secret is classified (`spendInRow`).
   */
  inSessionRow?: boolean;
  /** Set once this request found the limit spent: a failure owes it nothing more. */
  refused?: boolean;
  /** Set once this request has paid the limit: a failure owes it nothing more. */
  spent?: boolean;
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
   * A refresh attempt, looked at before the token is. Per session id (ids are public; the secret
   * is not) every attempt counts. Per client address, the failed ones count, which are the ones
   * a guesser makes: good refreshes are limited per session, so many clients behind one address
   * (a NAT, a proxy that is not trusted) do not use up each other's attempts. An address with
   * none left is refused before its token is checked, however good the token; a failed attempt
   * is charged before it is answered (`chargeFailed`). Attempts running side by side are checked
   * before any of them is charged, so a burst can pass the limit by as many as run at once.
   *
   * With the Postgres store nothing is spent here: the address is checked in the rotation's own
   * statement, and the session's limit, kept in the session's row, is spent by the rotation's
   * update, or, when the secret was not the current one, before it is classified (`spendInRow`). A store with `peek` checks
   * the address here and spends the session's limit; a store without it spends both here, every
   * attempt.
   */
  async refreshAttempt(ip: string | undefined, sessionId: string | null): Promise<PendingRateLimit[]> {
    const { refreshPerIp, refreshPerSession } = this.options.rateLimits;
    const pending: PendingRateLimit[] = [];
    if (refreshPerIp && ip) pending.push({ key: this.hashKey(`refresh:ip:${ip}`), rule: refreshPerIp, perIp: ip, name: 'refresh_ip', onFailure: true });
    if (this.store instanceof PostgresRateLimitStore) {
      if (refreshPerSession && sessionId) pending.push({ key: sessionId, rule: refreshPerSession, perIp: null, name: 'refresh_session', inSessionRow: true });
      return pending;
    }
    if (refreshPerSession && sessionId) pending.push({ key: this.hashKey(`refresh:session:${sessionId}`), rule: refreshPerSession, perIp: null, name: 'refresh_session' });
    const peek = this.store.peek?.bind(this.store);
    const checked: PendingRateLimit[] = [];
    for (const limit of pending) {
      if (limit.onFailure && peek) {
        const verdict = await peek(limit.key, limit.rule, Date.now());
        if (!verdict.allowed) this.refuse(limit, verdict.retryAfterMs);
        checked.push(limit);
      } else {
        await this.spend([limit]);
      }
    }
    return checked;
  }

  /**
   * Spends the limits kept in the session's row, for a refresh the rotation's statement did not
   * rotate (a grace answer, a failure, a lost race): before the secret is classified, under the
   * row's lock, so parallel attempts count each other and one beyond the limit is refused (429).
   */
  async spendInRow(pending: PendingRateLimit[]): Promise<void> {
    for (const limit of pending) {
      if (!limit.inSessionRow || limit.spent) continue;
      const verdict = await this.charge(limit);
      if (!verdict.allowed) this.refuse(limit, verdict.retryAfterMs);
      limit.spent = true;
    }
  }

  /**
   * Charges the limits a failed refresh owes (the address's, and the session's if not paid yet),
   * before it is answered. The one this request found spent, and those after it, cost no
   * statement (they were not reached); the failure's own answer stands.
   */
  async chargeFailed(pending: PendingRateLimit[]): Promise<void> {
    for (const limit of pending) {
      if (limit.refused) return;
      if (limit.onFailure || (limit.inSessionRow && !limit.spent)) await this.charge(limit);
    }
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

  /** Spends pending limits on their own (a refresh that fails before the rotation's statement: all of them are owed). */
  async spend(pending: PendingRateLimit[]): Promise<void> {
    for (const limit of pending) {
      const verdict = await this.charge(limit);
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

  private charge(limit: PendingRateLimit): Promise<RateLimitVerdict> {
    const nowMs = Date.now();
    if (limit.inSessionRow && this.store instanceof PostgresRateLimitStore) return this.store.consumeInSession(limit.key, limit.rule, nowMs);
    return this.store.consume(limit.key, limit.rule, nowMs);
  }

  private refuse(limit: PendingRateLimit, retryAfterMs: number): never {
    limit.refused = true;
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
