/**
 * Every default of `SessionModuleOptions`, in one place. Durations are written as an app would
 * write them; `resolveSessionOptions` turns them into milliseconds.
 */
export const SESSION_DEFAULTS = deepFreeze({
  issuer: 'nest-sessions',
  audience: 'nest-sessions',
  accessTokenTtl: '10m',
  allowLongAccessTokens: false,
  hs256Migration: false,
  idleTimeout: '24h',
  absoluteTimeout: '7d',
  rememberMe: { idleTimeout: '30d', absoluteTimeout: '90d' },
  refreshReuseGrace: '10s',
  graceRefreshLimit: 20,
  rateLimits: { refreshPerIp: { limit: 120, window: '1m' }, refreshPerSession: { limit: 30, window: '1m' }, store: 'postgres' },
  clockSkew: '5s',
  revocation: { mode: 'strict', cache: { ttl: '5s', maxAge: '60s', max: 100_000 }, heartbeat: '2s', bus: 'postgres', lastSeenInterval: '5m' },
  transports: ['cookie', 'bearer'],
  dpop: 'off',
  dpopNonce: false,
  dbsc: false,
  cookies: { secure: true, accessName: 'ns-at', refreshName: 'ns-rt', csrfName: 'ns-csrf' },
  clearSiteData: true,
  auditLog: true,
  csrf: { trustedOrigins: [] },
  cleanup: {
    enabled: true,
    cron: '0 */10 * * * *',
    jitter: '60s',
    retention: '7d',
    batchSize: 5_000,
    timeBudget: '60s',
    pauseMs: 0,
    pauseFactor: 0.5,
  },
  verifiedTokenCacheSize: 10_000,
  lineageSize: 32,
  routePrefix: 'auth',
} as const);

/** Access tokens longer than this are refused unless `allowLongAccessTokens` is set. */
export const MAX_ACCESS_TOKEN_TTL_MS = 3_600_000;

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) if (inner && typeof inner === 'object') deepFreeze(inner);
  return Object.freeze(value);
}
