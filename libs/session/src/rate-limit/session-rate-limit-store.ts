import type { RateLimitRule, RateLimitVerdict } from './gcra';

/**
 * Where rate-limit state lives. The default keeps it in the app's Postgres (`auth_rate_limits`,
 * and a session's own refresh count in its `auth_sessions` row), so limits hold across every
 * instance; an app with Redis or another shared store can provide
 * its own. An implementation spends one attempt of `key` atomically, applying `gcraStep` to the
 * key's stored state, and never charges a refused attempt.
 */
export interface SessionRateLimitStore {
  /** Spends one attempt of `key` under `rule` at `nowMs`, if the rule allows it; atomic across callers. */
  consume(key: string, rule: RateLimitRule, nowMs: number): Promise<RateLimitVerdict>;
  /**
   * Whether `consume` would allow an attempt now, spending nothing. Optional: with it, the
   * per-address refresh limit counts failed attempts only; without it, every attempt.
   */
  peek?(key: string, rule: RateLimitRule, nowMs: number): Promise<RateLimitVerdict>;
}
