/** A limit as the library applies it: `limit` attempts per `windowMs`, refilled evenly. */
export interface RateLimitRule {
  limit: number;
  windowMs: number;
}

/** One attempt's outcome. `retryAfterMs` is 0 when allowed. */
export interface RateLimitVerdict {
  allowed: boolean;
  retryAfterMs: number;
}

/**
 * The time between two attempts at the steady rate, in microseconds. Rounded down, so that a
 * full burst of `limit` always fits in the window (rounded up, 7 per minute would allow 6).
 */
export function emissionIntervalUs(rule: RateLimitRule): number {
  return Math.max(1, Math.floor((rule.windowMs * 1000) / rule.limit));
}

/**
 * One step of the generic cell rate algorithm: `tatUs` ("theoretical arrival time") is the only
 * state a key needs. A fresh key allows a burst of `limit`, then one attempt per interval; a
 * refused attempt costs nothing. An allowed attempt never leaves `tatUs` more than a window
 * ahead of its clock, so state further ahead was written by another clock (an instance whose
 * clock runs ahead, a clock that was set back): it is treated as fresh rather than trusted,
 * which would block the key for as long as that clock was ahead.
 */
export function gcraStep(tatUs: number | null, nowUs: number, rule: RateLimitRule): RateLimitVerdict & { tatUs: number | null } {
  const windowUs = rule.windowMs * 1000;
  const start = tatUs === null || tatUs > nowUs + windowUs ? nowUs : Math.max(tatUs, nowUs);
  const next = start + emissionIntervalUs(rule);
  if (next <= nowUs + windowUs) return { allowed: true, retryAfterMs: 0, tatUs: next };
  return { allowed: false, retryAfterMs: Math.ceil((next - windowUs - nowUs) / 1000), tatUs };
}
