import { SessionConfigError } from '../errors/session-config-error';
import { SESSION_DEFAULTS } from '../session.defaults';
import type { SessionModuleOptions } from '../session.options';
import type { ResolvedSessionOptions } from '../resolve-options';
import { integer, ms } from '../option-values';

const D = SESSION_DEFAULTS.revocation;

/** Options that moved into `revocation` in 1.0, and where. */
const MOVED: Record<string, string> = {
  revocationCache: 'revocation.cache',
  revocationHeartbeat: 'revocation.heartbeat',
  revocationBus: 'revocation.bus',
  lastSeenInterval: 'revocation.lastSeenInterval',
};

type ResolvedRevocation = Pick<ResolvedSessionOptions, 'revocation' | 'revocationCache' | 'revocationHeartbeatMs' | 'revocationBus' | 'lastSeenIntervalMs'>;

/**
 * The `revocation` options, checked. An app still written for 0.x (`revocation: 'stateless'`, a
 * top-level `revocationBus`…) stops at start with the new name: ignoring the old one would quietly
 * run another bus or mode than the app asked for.
 */
export function resolveRevocation(options: SessionModuleOptions & Record<string, unknown>): ResolvedRevocation {
  for (const [old, now] of Object.entries(MOVED)) {
    if (options[old] !== undefined) throw new SessionConfigError(`${old} is now ${now} (nest-sessions 1.0): move it into the revocation options.`);
  }
  const given: unknown = options.revocation ?? {};
  if (typeof given === 'string') {
    throw new SessionConfigError(`revocation is an object since nest-sessions 1.0: write revocation: { mode: ${JSON.stringify(given)} }.`);
  }
  if (typeof given !== 'object' || given === null) throw new SessionConfigError('revocation must be an object such as { mode: "strict" }.');
  const r = given as NonNullable<SessionModuleOptions['revocation']>;
  const mode = r.mode ?? D.mode;
  if (mode !== 'strict' && mode !== 'stateless') throw new SessionConfigError(`revocation.mode must be "strict" or "stateless"; got ${JSON.stringify(mode)}.`);
  const max = integer(r.cache?.max, D.cache.max, 'revocation.cache.max', 0, 10_000_000);
  const ttlMs = ms(r.cache?.ttl, D.cache.ttl, 'revocation.cache.ttl');
  if (ttlMs > 60_000) throw new SessionConfigError('revocation.cache.ttl above 60 s lets a lost broadcast hide a revocation too long; use at most 60.');
  const maxAgeMs = ms(r.cache?.maxAge, D.cache.maxAge, 'revocation.cache.maxAge');
  if (maxAgeMs > 600_000) throw new SessionConfigError('revocation.cache.maxAge above 10 min lets a broadcast that could not be sent hide a revocation too long; use at most 600.');
  const heartbeatMs = ms(r.heartbeat, D.heartbeat, 'revocation.heartbeat');
  if (heartbeatMs < 1_000 || heartbeatMs > 30_000) {
    throw new SessionConfigError('revocation.heartbeat must be between 1 and 30 seconds: a silent listener is noticed within two of them.');
  }
  const bus = r.bus ?? D.bus;
  let revocationBus: ResolvedRevocation['revocationBus'];
  if (bus === 'postgres' || bus === 'none') revocationBus = { kind: bus };
  else if (bus && typeof bus === 'object' && typeof bus.redis === 'string' && /^rediss?:\/\//.test(bus.redis)) revocationBus = { kind: 'redis', url: bus.redis };
  else throw new SessionConfigError('revocation.bus must be "postgres", "none" or { redis: "redis://host:6379" }.');
  return {
    revocation: mode,
    revocationCache: { ttlMs, maxAgeMs: Math.max(ttlMs, maxAgeMs), max },
    revocationHeartbeatMs: heartbeatMs,
    revocationBus,
    lastSeenIntervalMs: ms(r.lastSeenInterval, D.lastSeenInterval, 'revocation.lastSeenInterval'),
  };
}
