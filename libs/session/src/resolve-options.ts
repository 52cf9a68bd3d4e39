import { hkdfSync } from 'node:crypto';
import type { CronTime } from 'cron';
import { optionalPeer } from './optional-peer';
import { parseDuration } from './duration';
import { SessionConfigError } from './errors/session-config-error';
import type { SessionCleanupOptions, SessionModuleExtras, SessionModuleOptions } from './session.options';
import type { SessionTransport, SessionUser, UserId } from './session.types';
import type { Duration } from './duration';
import { MAX_ACCESS_TOKEN_TTL_MS, SESSION_DEFAULTS as D } from './session.defaults';
import { assertStrong, secretBytes } from './secret-material';
import { resolveKeySet, type ResolvedKeySet } from './tokens/signing-keys';
import { defaultDeviceLabel } from './device-label';
import type { RateLimitRule } from './rate-limit/gcra';
import type { SessionRateLimitStore } from './rate-limit/session-rate-limit-store';
import { resolveOptionalRateLimit, resolveRateLimitStore } from './rate-limit/rate-limit-options';
import { resolveRevocation } from './revocation/revocation-options';
import { integer, ms } from './option-values';

/**
 * Options after validation: every duration in milliseconds (the field says so), keys as
 * KeyObjects or bytes, cookie names with their prefixes.
 */
export interface ResolvedSessionOptions {
  /** The access-token keys: the current one signs, each verifies the tokens that name it. */
  keys: ResolvedKeySet;
  csrfKey: Buffer;
  refreshPepper: Buffer;
  /** Authenticates the revocation messages instances send each other. */
  revocationKey: Buffer;
  /**
   * The same keys derived from `sessionSecret` and then each of `previousSessionSecrets`: they
   * still verify CSRF tokens, refresh secrets and revocation messages; only the first makes new ones.
   */
  csrfKeys: Buffer[];
  refreshPeppers: Buffer[];
  revocationKeys: Buffer[];
  loadUser: (userId: UserId) => Promise<SessionUser<UserId> | null> | SessionUser<UserId> | null;
  issuer: string;
  audience: string;
  accessTokenTtlMs: number;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  refreshReuseGraceMs: number;
  graceRefreshLimit: number;
  rateLimits: {
    refreshPerIp: RateLimitRule | null;
    refreshPerSession: RateLimitRule | null;
    store: 'postgres' | 'memory' | SessionRateLimitStore;
  };
  /** Keys the rate-limit store's keys (addresses, emails) so none is stored in the clear. */
  rateLimitKey: Buffer;
  clockSkewMs: number;
  revocation: 'strict' | 'stateless';
  transports: ReadonlySet<SessionTransport>;
  dpop: 'off' | 'allowed' | 'required';
  /** Makes and checks DPoP server nonces; null: proofs need none. */
  dpopNonceKey: Buffer | null;
  /** Makes and checks DBSC challenges; null: DBSC is off. */
  dbscKey: Buffer | null;
  cookies: {
    secure: boolean;
    accessName: string;
    refreshName: string;
    csrfName: string;
    /** As configured; null: the refresh route's real path, found when the app starts. */
    refreshPath: string | null;
  };
  clearSiteData: boolean;
  auditLog: boolean;
  deviceLabel: (userAgent: string | null) => string | null;
  sessionLimit: { max: number; evict: boolean } | null;
  /** The "remember me" lifetimes, or null when the app has no such profile. */
  rememberMe: { idleTimeoutMs: number; absoluteTimeoutMs: number } | null;
  sessionLifetime: ((user: SessionUser<UserId>, rememberMe: boolean) => { idleTimeout?: Duration; absoluteTimeout?: Duration } | null | undefined) | null;
  revocationCache: { ttlMs: number; maxAgeMs: number; max: number };
  revocationHeartbeatMs: number;
  revocationBus: { kind: 'postgres' } | { kind: 'none' } | { kind: 'redis'; url: string };
  lastSeenIntervalMs: number;
  cleanup: ResolvedCleanupOptions;
  csrf: { appOrigin: string | null; trustedOrigins: ReadonlySet<string> };
  verifiedTokenCacheSize: number;
  lineageSize: number;
  routePrefix: string;
}

export interface ResolvedCleanupOptions {
  enabled: boolean;
  cron: string;
  jitterMs: number;
  retentionMs: number;
  batchSize: number;
  timeBudgetMs: number;
  pauseMs: number;
  pauseFactor: number;
}

/** Where development-only settings (plain-http cookies) are allowed. */
const DEVELOPMENT_ENVS = new Set(['development', 'test']);

function sessionLifetimeOption(value: unknown): ResolvedSessionOptions['sessionLifetime'] {
  if (value === undefined) return null;
  if (typeof value !== 'function') throw new SessionConfigError('sessionLifetime must be a function (user, rememberMe) => { idleTimeout?, absoluteTimeout? }.');
  return value as ResolvedSessionOptions['sessionLifetime'];
}

/**
 * A lifetime profile that makes sense: an idle timeout no shorter than the access token, an
 * absolute one no shorter than the idle one. `error` says where the values came from.
 */
export function checkLifetimes(idleTimeoutMs: number, absoluteTimeoutMs: number, accessTokenTtlMs: number, error: (message: string) => Error) {
  if (idleTimeoutMs < accessTokenTtlMs) throw error(`idleTimeout (${idleTimeoutMs / 1000}s) must not be shorter than accessTokenTtl (${accessTokenTtlMs / 1000}s).`);
  if (absoluteTimeoutMs < idleTimeoutMs) throw error(`absoluteTimeout (${absoluteTimeoutMs / 1000}s) must not be shorter than idleTimeout (${idleTimeoutMs / 1000}s).`);
  return { idleTimeoutMs, absoluteTimeoutMs };
}

function sessionLimitOption(value: SessionModuleOptions['sessionLimit']): ResolvedSessionOptions['sessionLimit'] {
  if (value === undefined) return null;
  const onLimit = value?.onLimit ?? 'evict_oldest';
  if (onLimit !== 'evict_oldest' && onLimit !== 'refuse') {
    throw new SessionConfigError(`sessionLimit.onLimit must be "evict_oldest" or "refuse"; got ${JSON.stringify(onLimit)}.`);
  }
  return { max: integer(value?.max, 0, 'sessionLimit.max', 1, 10_000), evict: onLimit === 'evict_oldest' };
}

function deviceLabelOption(value: unknown): (userAgent: string | null) => string | null {
  if (value === undefined) return defaultDeviceLabel;
  if (typeof value !== 'function') throw new SessionConfigError('deviceLabel must be a function (userAgent) => string | null.');
  return value as (userAgent: string | null) => string | null;
}

/** `previousSessionSecrets`: each one strong, none equal to the current one, at most 5. */
function previousSecrets(value: unknown, current: Buffer): Buffer[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 5) {
    throw new SessionConfigError('previousSessionSecrets must be an array of at most 5 earlier sessionSecret values.');
  }
  return value.map((secret, i) => {
    const bytes = secretBytes(secret, `previousSessionSecrets[${i}]`);
    assertStrong(bytes, `previousSessionSecrets[${i}]`);
    if (bytes.equals(current)) throw new SessionConfigError(`previousSessionSecrets[${i}] is the current sessionSecret; list only earlier ones.`);
    return bytes;
  });
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

/** `iss` / `aud`: a non-empty string; an empty one would turn the check off. */
function claimValue(value: unknown, fallback: string, name: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new SessionConfigError(`${name} must be a non-empty string (an empty one would turn its check off); leave it out for ${JSON.stringify(fallback)}.`);
  }
  return value;
}


/** Validates the app's options once at start and derives every key the library needs. */
export function resolveSessionOptions(
  options: SessionModuleOptions,
  extras: SessionModuleExtras = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedSessionOptions {
  if (!options || typeof options !== 'object') throw new SessionConfigError('options are required.');
  const nodeEnv = env.NODE_ENV ?? '';

  const keys = resolveKeySet(options.jwtSecret, options.signingKeys, options.currentSigningKey, (options.hs256Migration ?? D.hs256Migration) === true);
  const rootBytes = secretBytes(options.sessionSecret, 'sessionSecret');
  assertStrong(rootBytes, 'sessionSecret');
  const previousRoots = previousSecrets(options.previousSessionSecrets, rootBytes);
  const roots = [rootBytes, ...previousRoots];
  const hmacKeys = [...keys.byKid.values(), ...(keys.legacy ? [keys.legacy] : [])].filter((k) => k.alg === 'HS256');
  if (hmacKeys.some((k) => k.verifyKey.export().equals(rootBytes))) {
    throw new SessionConfigError('sessionSecret must differ from jwtSecret and every HS256 signing key: each key has one purpose.');
  }
  if (typeof options.loadUser !== 'function') {
    throw new SessionConfigError('loadUser is required: a function (userId) => { id, roles } | null, called at refresh.');
  }

  const accessTokenTtlMs = ms(options.accessTokenTtl, D.accessTokenTtl, 'accessTokenTtl');
  const idleTimeoutMs = ms(options.idleTimeout, D.idleTimeout, 'idleTimeout');
  const absoluteTimeoutMs = ms(options.absoluteTimeout, D.absoluteTimeout, 'absoluteTimeout');
  const refreshReuseGraceMs = ms(options.refreshReuseGrace, D.refreshReuseGrace, 'refreshReuseGrace');
  const clockSkewMs = ms(options.clockSkew, D.clockSkew, 'clockSkew');
  if (accessTokenTtlMs < 1000) throw new SessionConfigError('accessTokenTtl must be at least 1 second.');
  if (accessTokenTtlMs > MAX_ACCESS_TOKEN_TTL_MS && (options.allowLongAccessTokens ?? D.allowLongAccessTokens) !== true) {
    throw new SessionConfigError(
      `accessTokenTtl (${accessTokenTtlMs / 1000}s) is over 1 hour: a stolen access token would stay usable that long, ` +
        'and in stateless mode so would a revoked session. Shorten it, or set allowLongAccessTokens: true if you mean it.',
    );
  }
  if (idleTimeoutMs < accessTokenTtlMs) {
    throw new SessionConfigError(
      `idleTimeout (${idleTimeoutMs / 1000}s) must not be shorter than accessTokenTtl (${accessTokenTtlMs / 1000}s): ` +
        'an active user would be logged out between two refreshes.',
    );
  }
  if (absoluteTimeoutMs < idleTimeoutMs) {
    throw new SessionConfigError(`absoluteTimeout (${absoluteTimeoutMs / 1000}s) must not be shorter than idleTimeout (${idleTimeoutMs / 1000}s).`);
  }
  if (refreshReuseGraceMs > 60_000) {
    throw new SessionConfigError('refreshReuseGrace above 60 s keeps a stolen refresh token usable too long; use at most 60.');
  }
  if (clockSkewMs > 60_000) throw new SessionConfigError('clockSkew must be at most 60 seconds.');

  const revocation = resolveRevocation(options as SessionModuleOptions & Record<string, unknown>);
  if (options.transports !== undefined && !Array.isArray(options.transports)) {
    throw new SessionConfigError('transports must be an array such as ["cookie", "bearer"].');
  }
  const transports = new Set<SessionTransport>(options.transports ?? D.transports);
  if (transports.size === 0 || [...transports].some((t) => t !== 'cookie' && t !== 'bearer')) {
    throw new SessionConfigError('transports must list "cookie", "bearer" or both.');
  }

  const dpop = options.dpop ?? D.dpop;
  if (dpop !== 'off' && dpop !== 'allowed' && dpop !== 'required') throw new SessionConfigError(`dpop must be "off", "allowed" or "required"; got ${JSON.stringify(dpop)}.`);
  if (options.dpopNonce !== undefined && typeof options.dpopNonce !== 'boolean') throw new SessionConfigError('dpopNonce must be true or false.');
  if (dpop !== 'off' && !transports.has('bearer')) throw new SessionConfigError('dpop binds bearer sessions: add "bearer" to transports, or set dpop to "off".');

  const cookies = options.cookies ?? {};
  const secure = cookies.secure ?? D.cookies.secure;
  const dbsc = options.dbsc ?? D.dbsc;
  if (typeof dbsc !== 'boolean') throw new SessionConfigError('dbsc must be true or false.');
  if (dbsc && !transports.has('cookie')) throw new SessionConfigError('dbsc binds cookie sessions: add "cookie" to transports, or turn dbsc off.');
  if (dbsc && !secure) throw new SessionConfigError('dbsc needs secure cookies: browsers ignore DBSC over plain http.');
  if (!secure && !DEVELOPMENT_ENVS.has(nodeEnv)) {
    throw new SessionConfigError(
      `cookies.secure=false (plain-http cookies) is for development only: it is allowed when NODE_ENV is "development" or "test", ` +
        `not ${JSON.stringify(nodeEnv || '(unset)')}.`,
    );
  }
  const trustedOrigins = options.csrf?.trustedOrigins ?? [...D.csrf.trustedOrigins];
  if (!Array.isArray(trustedOrigins)) {
    throw new SessionConfigError('csrf.trustedOrigins must be an array of origins (split a comma-separated variable first).');
  }
  const routePrefix = (extras.routePrefix ?? D.routePrefix).replace(/^\/+|\/+$/g, '');
  const refreshPath = cookies.refreshPath ?? null;
  if (refreshPath !== null && !/^\/[A-Za-z0-9\-._~/]*$/.test(refreshPath)) {
    throw new SessionConfigError(`cookies.refreshPath ${JSON.stringify(refreshPath)} must be a plain absolute path such as "/api/auth".`);
  }
  const lineageSize = integer(options.lineageSize, D.lineageSize, 'lineageSize', 1, 256);
  const verifiedTokenCacheSize = integer(options.verifiedTokenCacheSize, D.verifiedTokenCacheSize, 'verifiedTokenCacheSize', 0, 10_000_000);
  return {
    keys,
    csrfKey: derive(rootBytes, 'csrf'),
    refreshPepper: derive(rootBytes, 'refresh-pepper'),
    revocationKey: derive(rootBytes, 'revocation-bus'),
    csrfKeys: roots.map((root) => derive(root, 'csrf')),
    refreshPeppers: roots.map((root) => derive(root, 'refresh-pepper')),
    revocationKeys: roots.map((root) => derive(root, 'revocation-bus')),
    loadUser: options.loadUser as ResolvedSessionOptions['loadUser'],
    issuer: claimValue(options.issuer, D.issuer, 'issuer'),
    audience: claimValue(options.audience, D.audience, 'audience'),
    accessTokenTtlMs,
    idleTimeoutMs,
    absoluteTimeoutMs,
    refreshReuseGraceMs,
    graceRefreshLimit: integer(options.graceRefreshLimit, D.graceRefreshLimit, 'graceRefreshLimit', 1, 1_000),
    rateLimits: {
      refreshPerIp: resolveOptionalRateLimit(options.rateLimits?.refreshPerIp, D.rateLimits.refreshPerIp, 'rateLimits.refreshPerIp'),
      refreshPerSession: resolveOptionalRateLimit(options.rateLimits?.refreshPerSession, D.rateLimits.refreshPerSession, 'rateLimits.refreshPerSession'),
      store: resolveRateLimitStore(options.rateLimits?.store),
    },
    rateLimitKey: derive(rootBytes, 'rate-limit'),
    clockSkewMs,
    ...revocation,
    transports,
    dpop,
    dpopNonceKey: (options.dpopNonce ?? D.dpopNonce) ? derive(rootBytes, 'dpop-nonce') : null,
    dbscKey: dbsc ? derive(rootBytes, 'dbsc-challenge') : null,
    cookies: {
      secure,
      accessName: cookieName(cookies.accessName ?? D.cookies.accessName, secure, '__Host-'),
      refreshName: cookieName(cookies.refreshName ?? D.cookies.refreshName, secure, '__Secure-'),
      csrfName: cookieName(cookies.csrfName ?? D.cookies.csrfName, secure, '__Host-'),
      refreshPath,
    },
    clearSiteData: options.clearSiteData ?? D.clearSiteData,
    auditLog: options.auditLog ?? D.auditLog,
    deviceLabel: deviceLabelOption(options.deviceLabel),
    sessionLimit: sessionLimitOption(options.sessionLimit),
    rememberMe: options.rememberMe === undefined ? null : checkLifetimes(
      ms(options.rememberMe?.idleTimeout, D.rememberMe.idleTimeout, 'rememberMe.idleTimeout'),
      ms(options.rememberMe?.absoluteTimeout, D.rememberMe.absoluteTimeout, 'rememberMe.absoluteTimeout'),
      accessTokenTtlMs,
      (message) => new SessionConfigError(`rememberMe: ${message}`),
    ),
    sessionLifetime: sessionLifetimeOption(options.sessionLifetime),
    cleanup: resolveCleanupOptions(options.cleanup),
    csrf: {
      appOrigin: options.csrf?.appOrigin ? origin(options.csrf.appOrigin, 'csrf.appOrigin') : null,
      trustedOrigins: new Set(trustedOrigins.map((o) => origin(o, 'csrf.trustedOrigins'))),
    },
    verifiedTokenCacheSize,
    lineageSize,
    routePrefix,
  };
}

/** The cleanup settings alone: `SessionCleanupModule` needs them without any secret. */
export function resolveCleanupOptions(cleanup: SessionCleanupOptions = {}): ResolvedCleanupOptions {
  const C = D.cleanup;
  const pauseFactor = cleanup.pauseFactor ?? C.pauseFactor;
  if (typeof pauseFactor !== 'number' || !Number.isFinite(pauseFactor) || pauseFactor < 0 || pauseFactor > 100) {
    throw new SessionConfigError('cleanup.pauseFactor must be a number from 0 to 100.');
  }
  const cron = cleanup.cron ?? C.cron;
  // Checked here when `cron` is installed (it comes with @nestjs/schedule, which schedules the job).
  const cronPackage = optionalPeer<{ CronTime: typeof CronTime }>('cron');
  try {
    if (cronPackage) new cronPackage.CronTime(cron);
  } catch {
    throw new SessionConfigError(`cleanup.cron must be a cron expression such as "0 */10 * * * *"; got ${JSON.stringify(cron)}.`);
  }
  return {
    enabled: cleanup.enabled ?? C.enabled,
    cron,
    jitterMs: ms(cleanup.jitter, C.jitter, 'cleanup.jitter'),
    retentionMs: ms(cleanup.retention, C.retention, 'cleanup.retention'),
    batchSize: integer(cleanup.batchSize, C.batchSize, 'cleanup.batchSize', 1, 100_000),
    timeBudgetMs: ms(cleanup.timeBudget, C.timeBudget, 'cleanup.timeBudget'),
    pauseMs: integer(cleanup.pauseMs, C.pauseMs, 'cleanup.pauseMs', 0, 60_000),
    pauseFactor,
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
