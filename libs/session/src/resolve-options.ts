import { createSecretKey, hkdfSync, KeyObject } from 'node:crypto';
import { CronTime } from 'cron';
import { parseDuration } from './duration';
import { SessionConfigError } from './errors/session-config-error';
import type { SessionModuleExtras, SessionModuleOptions } from './session.options';
import type { SessionTransport, SessionUser } from './session.types';

/** Options after validation: durations in seconds, keys as KeyObjects, names with prefixes. */
export interface ResolvedSessionOptions {
  jwtKey: KeyObject;
  csrfKey: Buffer;
  refreshPepper: Buffer;
  loadUser: (userId: string) => Promise<SessionUser | null> | SessionUser | null;
  issuer: string;
  audience: string;
  accessTokenTtl: number;
  idleTimeout: number;
  absoluteTimeout: number;
  refreshReuseGrace: number;
  clockSkew: number;
  revocation: 'strict' | 'stateless';
  transports: ReadonlySet<SessionTransport>;
  cookies: {
    secure: boolean;
    accessName: string;
    refreshName: string;
    csrfName: string;
    refreshPath: string;
  };
  clearSiteData: boolean;
  revocationCache: { ttlMs: number; max: number };
  revocationBus: { kind: 'postgres' } | { kind: 'none' } | { kind: 'redis'; url: string };
  lastSeenIntervalMs: number;
  cleanup: {
    enabled: boolean;
    cron: string;
    jitterMs: number;
    retention: number;
    batchSize: number;
    timeBudgetMs: number;
    pauseMs: number;
    pauseFactor: number;
  };
  csrf: { appOrigin: string | null; trustedOrigins: ReadonlySet<string> };
  verifiedTokenCacheSize: number;
  lineageSize: number;
  routePrefix: string;
}

export const DEFAULT_ROUTE_PREFIX = 'auth';
const MIN_SECRET_BYTES = 32;
// Words, not character runs: a random base64url secret contains `xxxx` or `1234` now and then.
const PLACEHOLDER = /(change.?me|secret|password|example|placeholder|your[-_ ])/i;

function secretBytes(value: unknown, name: string): Buffer {
  if (value instanceof KeyObject) {
    if (value.type !== 'secret') throw new SessionConfigError(`${name} must be a secret key (HS256).`);
    return value.export();
  }
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  throw new SessionConfigError(`${name} is required: set it to at least ${MIN_SECRET_BYTES} random bytes.`);
}

function assertStrong(bytes: Buffer, name: string): void {
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new SessionConfigError(
      `${name} is ${bytes.length} bytes; use at least ${MIN_SECRET_BYTES} random bytes ` +
        `(for example: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))").`,
    );
  }
  const text = bytes.toString('latin1');
  if (PLACEHOLDER.test(text) || new Set(text).size < 10) {
    throw new SessionConfigError(`${name} looks like a placeholder; generate a random value instead.`);
  }
}

function duration(value: SessionModuleOptions[keyof SessionModuleOptions], fallback: number, name: string) {
  if (value === undefined) return fallback;
  try {
    return parseDuration(value as string | number, name);
  } catch (error) {
    throw new SessionConfigError((error as Error).message);
  }
}

function derive(root: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), `nest-sessions ${purpose} v1`, 32));
}

function cookieName(base: string, secure: boolean, prefix: '__Host-' | '__Secure-'): string {
  if (!/^[A-Za-z0-9_-]+$/.test(base)) {
    throw new SessionConfigError(`cookie name ${JSON.stringify(base)} may contain only letters, digits, "-" and "_".`);
  }
  return secure ? prefix + base : base;
}

/** Validates the app's options once at start and derives every key the library needs. */
export function resolveSessionOptions(
  options: SessionModuleOptions,
  extras: SessionModuleExtras = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedSessionOptions {
  if (!options || typeof options !== 'object') throw new SessionConfigError('options are required.');
  const production = env.NODE_ENV === 'production';

  const jwtBytes = secretBytes(options.jwtSecret, 'jwtSecret');
  assertStrong(jwtBytes, 'jwtSecret');
  const rootBytes = secretBytes(options.sessionSecret, 'sessionSecret');
  assertStrong(rootBytes, 'sessionSecret');
  if (jwtBytes.equals(rootBytes)) {
    throw new SessionConfigError('sessionSecret must differ from jwtSecret: each key has one purpose.');
  }
  if (typeof options.loadUser !== 'function') {
    throw new SessionConfigError('loadUser is required: a function (userId) => { id, roles } | null, called at refresh.');
  }

  const accessTokenTtl = duration(options.accessTokenTtl, 600, 'accessTokenTtl');
  const idleTimeout = duration(options.idleTimeout, 86_400, 'idleTimeout');
  const absoluteTimeout = duration(options.absoluteTimeout, 7 * 86_400, 'absoluteTimeout');
  const refreshReuseGrace = duration(options.refreshReuseGrace, 10, 'refreshReuseGrace');
  const clockSkew = duration(options.clockSkew, 5, 'clockSkew');
  if (accessTokenTtl < 1) throw new SessionConfigError('accessTokenTtl must be at least 1 second.');
  if (idleTimeout < accessTokenTtl) {
    throw new SessionConfigError(
      `idleTimeout (${idleTimeout}s) must not be shorter than accessTokenTtl (${accessTokenTtl}s): ` +
        'an active user would be logged out between two refreshes.',
    );
  }
  if (absoluteTimeout < idleTimeout) {
    throw new SessionConfigError(`absoluteTimeout (${absoluteTimeout}s) must not be shorter than idleTimeout (${idleTimeout}s).`);
  }
  if (refreshReuseGrace > 60) {
    throw new SessionConfigError('refreshReuseGrace above 60 s keeps a stolen refresh token usable too long; use at most 60.');
  }
  if (clockSkew > 60) throw new SessionConfigError('clockSkew must be at most 60 seconds.');

  const revocation = options.revocation ?? 'strict';
  if (revocation !== 'strict' && revocation !== 'stateless') {
    throw new SessionConfigError(`revocation must be "strict" or "stateless"; got ${JSON.stringify(revocation)}.`);
  }
  if (options.transports !== undefined && !Array.isArray(options.transports)) {
    throw new SessionConfigError('transports must be an array such as ["cookie", "bearer"].');
  }
  const transports = new Set<SessionTransport>(options.transports ?? ['cookie', 'bearer']);
  if (transports.size === 0 || [...transports].some((t) => t !== 'cookie' && t !== 'bearer')) {
    throw new SessionConfigError('transports must list "cookie", "bearer" or both.');
  }

  const cookies = options.cookies ?? {};
  const secure = cookies.secure ?? true;
  if (!secure && production) {
    throw new SessionConfigError('cookies.secure=false (COOKIE_SECURE=false) is refused when NODE_ENV=production.');
  }
  const trustedOrigins = options.csrf?.trustedOrigins ?? [];
  if (!Array.isArray(trustedOrigins)) {
    throw new SessionConfigError('csrf.trustedOrigins must be an array of origins (split a comma-separated variable first).');
  }
  const routePrefix = (extras.routePrefix ?? DEFAULT_ROUTE_PREFIX).replace(/^\/+|\/+$/g, '');
  const refreshPath = cookies.refreshPath ?? `/${routePrefix}`;
  // It must reach the refresh route: a parent of /<prefix>, or /<global prefix>/<prefix>.
  const reaches = `/${routePrefix}/`.startsWith(refreshPath.replace(/\/?$/, '/')) || refreshPath.replace(/\/$/, '').endsWith(`/${routePrefix}`);
  if (!/^\/[A-Za-z0-9\-._~/]*$/.test(refreshPath) || !reaches) {
    throw new SessionConfigError(`cookies.refreshPath ${JSON.stringify(refreshPath)} must be a plain path that reaches /${routePrefix}/refresh.`);
  }
  const lineageSize = options.lineageSize ?? 32;
  if (!Number.isInteger(lineageSize) || lineageSize < 1 || lineageSize > 256) {
    throw new SessionConfigError('lineageSize must be an integer from 1 to 256.');
  }
  const verifiedTokenCacheSize = options.verifiedTokenCacheSize ?? 10_000;
  if (!Number.isInteger(verifiedTokenCacheSize) || verifiedTokenCacheSize < 0) {
    throw new SessionConfigError('verifiedTokenCacheSize must be a non-negative integer.');
  }

  const cacheMax = options.revocationCache?.max ?? 100_000;
  if (!Number.isInteger(cacheMax) || cacheMax < 0) throw new SessionConfigError('revocationCache.max must be a non-negative integer.');
  const cacheTtl = duration(options.revocationCache?.ttl, 5, 'revocationCache.ttl');
  if (cacheTtl > 60) throw new SessionConfigError('revocationCache.ttl above 60 s lets a lost broadcast hide a revocation too long; use at most 60.');
  const bus = options.revocationBus ?? 'postgres';
  let revocationBus: ResolvedSessionOptions['revocationBus'];
  if (bus === 'postgres' || bus === 'none') revocationBus = { kind: bus };
  else if (bus && typeof bus === 'object' && typeof bus.redis === 'string' && /^rediss?:\/\//.test(bus.redis)) revocationBus = { kind: 'redis', url: bus.redis };
  else throw new SessionConfigError('revocationBus must be "postgres", "none" or { redis: "redis://host:6379" }.');

  const cleanup = options.cleanup ?? {};
  const batchSize = cleanup.batchSize ?? 5_000;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
    throw new SessionConfigError('cleanup.batchSize must be an integer from 1 to 100,000.');
  }
  const pauseMs = cleanup.pauseMs ?? 0;
  if (!Number.isInteger(pauseMs) || pauseMs < 0 || pauseMs > 60_000) {
    throw new SessionConfigError('cleanup.pauseMs must be an integer from 0 to 60,000.');
  }
  const pauseFactor = cleanup.pauseFactor ?? 0.5;
  if (typeof pauseFactor !== 'number' || !Number.isFinite(pauseFactor) || pauseFactor < 0 || pauseFactor > 100) {
    throw new SessionConfigError('cleanup.pauseFactor must be a number from 0 to 100.');
  }
  const cron = cleanup.cron ?? '0 */10 * * * *';
  try {
    new CronTime(cron);
  } catch {
    throw new SessionConfigError(`cleanup.cron must be a cron expression such as "0 */10 * * * *"; got ${JSON.stringify(cron)}.`);
  }

  return {
    jwtKey: createSecretKey(jwtBytes),
    csrfKey: derive(rootBytes, 'csrf'),
    refreshPepper: derive(rootBytes, 'refresh-pepper'),
    loadUser: options.loadUser,
    issuer: options.issuer ?? 'nest-sessions',
    audience: options.audience ?? 'nest-sessions',
    accessTokenTtl,
    idleTimeout,
    absoluteTimeout,
    refreshReuseGrace,
    clockSkew,
    revocation,
    transports,
    cookies: {
      secure,
      accessName: cookieName(cookies.accessName ?? 'ns-at', secure, '__Host-'),
      refreshName: cookieName(cookies.refreshName ?? 'ns-rt', secure, '__Secure-'),
      csrfName: cookieName(cookies.csrfName ?? 'ns-csrf', secure, '__Host-'),
      refreshPath,
    },
    clearSiteData: options.clearSiteData ?? true,
    revocationCache: { ttlMs: cacheTtl * 1000, max: cacheMax },
    revocationBus,
    lastSeenIntervalMs: duration(options.lastSeenInterval, 300, 'lastSeenInterval') * 1000,
    cleanup: {
      enabled: cleanup.enabled ?? true,
      cron,
      jitterMs: duration(cleanup.jitter, 60, 'cleanup.jitter') * 1000,
      retention: duration(cleanup.retention, 7 * 86_400, 'cleanup.retention'),
      batchSize,
      timeBudgetMs: duration(cleanup.timeBudget, 60, 'cleanup.timeBudget') * 1000,
      pauseMs,
      pauseFactor,
    },
    csrf: {
      appOrigin: options.csrf?.appOrigin ? origin(options.csrf.appOrigin, 'csrf.appOrigin') : null,
      trustedOrigins: new Set(trustedOrigins.map((o) => origin(o, 'csrf.trustedOrigins'))),
    },
    verifiedTokenCacheSize,
    lineageSize,
    routePrefix,
  };
}

/** Normalises an origin (`scheme://host[:port]`) and refuses anything else, such as a path or `*`. */
function origin(value: unknown, name: string): string {
  const refuse = () => new SessionConfigError(`${name}: ${JSON.stringify(value)} is not an origin like https://app.example.com (no path, no wildcard).`);
  if (typeof value !== 'string' || value.includes('*')) throw refuse();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refuse();
  }
  const bare = url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password && !value.includes('#');
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !bare) throw refuse();
  return url.origin;
}
