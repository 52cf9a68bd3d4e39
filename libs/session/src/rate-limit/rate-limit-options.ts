import { SessionConfigError } from '../errors/session-config-error';
import { parseDuration, type Duration } from '../duration';
import type { RateLimitRule } from './gcra';
import type { SessionRateLimitStore } from './session-rate-limit-store';
import type { SessionRateLimitOptions } from '../session.options';

/** A limit as an app writes it: `limit` attempts per `window`, refilled evenly. */
export interface RateLimit {
  limit: number;
  window: Duration;
  /**
   * What metrics call this limit (`nest_sessions.rate_limit.refusals`, attribute `limit`): a fixed
   * word such as `login_ip`, never a value from the request. `app` when not given.
   */
  name?: string;
}

const LIMIT_NAME = /^[a-z][a-z0-9_.-]{0,63}$/;

/** The metric name of an app's limit, checked: a value from a request must not become a series. */
export function rateLimitName(value: RateLimit, name: string): string {
  if (value.name === undefined) return 'app';
  if (typeof value.name !== 'string' || !LIMIT_NAME.test(value.name)) throw new SessionConfigError(`${name}.name must be a fixed word like "login_ip" (lower case, digits, _ . -).`);
  return value.name;
}

/** Checks and converts an app's `{ limit, window }`; `name` says which option was wrong. */
export function resolveRateLimit(value: RateLimit, name: string): RateLimitRule {
  if (!value || typeof value !== 'object') throw new SessionConfigError(`${name} must be { limit, window } or false.`);
  const { limit } = value;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 1_000_000_000) {
    throw new SessionConfigError(`${name}.limit must be a whole number from 1 to 1,000,000,000; got ${JSON.stringify(limit)}.`);
  }
  let windowMs: number;
  try {
    windowMs = parseDuration(value.window, `${name}.window`) * 1000;
  } catch (error) {
    throw new SessionConfigError((error as Error).message);
  }
  if (windowMs < 1000 || windowMs > 86_400_000) throw new SessionConfigError(`${name}.window must be from 1 s to 24 h.`);
  return { limit, windowMs };
}

/** A resolved limit, or null when the app turned it off. */
export function resolveOptionalRateLimit(value: RateLimit | false | undefined, fallback: RateLimit, name: string): RateLimitRule | null {
  return value === false ? null : resolveRateLimit(value ?? fallback, name);
}

/** Checks the store option: a name, or an object with `consume`. */
export function resolveRateLimitStore(value: SessionRateLimitOptions['store']): 'postgres' | 'memory' | SessionRateLimitStore {
  if (value === undefined || value === 'postgres' || value === 'memory') return value ?? 'postgres';
  if (value && typeof value === 'object' && typeof value.consume === 'function') return value;
  throw new SessionConfigError('rateLimits.store must be "postgres", "memory" or an object with consume(key, rule, nowMs).');
}
