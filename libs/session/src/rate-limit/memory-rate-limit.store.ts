import { LRUCache } from 'lru-cache';
import { gcraStep, type RateLimitRule, type RateLimitVerdict } from './gcra';
import type { SessionRateLimitStore } from './session-rate-limit-store';

/**
 * Rate-limit state in this process only: each instance counts on its own, so N instances allow N
 * times the limit. For a single instance, or tests. Bounded: the least recently used keys go first.
 */
export class MemoryRateLimitStore implements SessionRateLimitStore {
  private readonly tats: LRUCache<string, number>;

  constructor(maxKeys = 100_000) {
    this.tats = new LRUCache({ max: maxKeys });
  }

  /** Spends one attempt of `key` under `rule` at `nowMs`, if the rule allows it. */
  async consume(key: string, rule: RateLimitRule, nowMs: number): Promise<RateLimitVerdict> {
    const step = gcraStep(this.tats.get(key) ?? null, nowMs * 1000, rule);
    if (step.allowed && step.tatUs !== null) this.tats.set(key, step.tatUs);
    return { allowed: step.allowed, retryAfterMs: step.retryAfterMs };
  }

  /** Whether `consume` would allow an attempt now; spends nothing. */
  async peek(key: string, rule: RateLimitRule, nowMs: number): Promise<RateLimitVerdict> {
    const { allowed, retryAfterMs } = gcraStep(this.tats.peek(key) ?? null, nowMs * 1000, rule);
    return { allowed, retryAfterMs };
  }
}
