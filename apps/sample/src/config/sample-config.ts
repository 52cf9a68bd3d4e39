import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Logger } from '@nestjs/common';
import { registerAs } from '@nestjs/config';
import { parseServiceApiKeys, type ServiceApiKey } from '../service/service-api-keys';
import { parseDuration, type RateLimit, type SessionModuleOptions, type SessionTransport, type SigningKey } from 'nest-sessions';

export type HttpAdapterName = 'express' | 'fastify';

/** Express's `trust proxy`: off, every proxy, the nearest n hops, or these addresses and subnets. */
export type TrustProxy = boolean | number | string[];

/** The sample app's settings, read once from the environment (docs/sample-env.md lists each variable). */
export interface SampleConfig {
  production: boolean;
  port: number;
  httpAdapter: HttpAdapterName;
  /** Without leading or trailing slashes (`api`, `api/v1`); unset: none. */
  globalPrefix?: string;
  trustProxy: TrustProxy;
  /** `TLS_CERT_FILE` and `TLS_KEY_FILE` (PEM): the app serves HTTPS itself (DBSC needs valid TLS); unset: plain HTTP. */
  tls?: { cert: Buffer; key: Buffer };
  databaseUrl: string;
  databasePoolSize: number;
  databaseStatementTimeoutMs: number;
  /**
   * What the app passes to `SessionModule`: the secrets, and only the settings whose variable is
   * set; everything else is the library's default (`SESSION_DEFAULTS`).
   */
  session: Omit<SessionModuleOptions, 'loadUser'>;
  trustedOrigins: string[];
  adminEmails: Set<string>;
  /** Login and register limits, applied with the library's `SessionRateLimiter` (shared by every instance). */
  authRateLimits: AuthRateLimits;
  /** `SERVICE_API_KEYS`: the machine clients' keys (as digests) for `GET /stats`; empty: none. */
  serviceApiKeys: ServiceApiKey[];
}

export interface AuthRateLimits {
  loginPerIp: RateLimit;
  loginPerAccount: RateLimit;
  registerPerIp: RateLimit;
  registerPerAccount: RateLimit;
}

/** Where development-only settings (random secrets, plain-http cookies, ADMIN_EMAILS) are allowed. */
const DEVELOPMENT_ENVS = new Set(['development', 'test']);

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

function bool(value: string | undefined, fallback: boolean, name: string): boolean {
  if (value === undefined || value === '') return fallback;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new Error(`${name} must be "true" or "false"; got ${JSON.stringify(value)}`);
}

function int(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer; got ${JSON.stringify(value)}`);
  return n;
}

function secret(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value) return value;
  if (!DEVELOPMENT_ENVS.has(env.NODE_ENV ?? '')) {
    throw new Error(
      `${name} is not set. Set it to at least 32 random bytes, e.g. ` +
        `${name}=$(node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))")`,
    );
  }
  new Logger('Config').warn(`${name} is not set: using a random one for this run (sessions end at restart).`);
  return randomBytes(32).toString('base64url');
}

/** What must be known before the app exists: the adapter is chosen before `NestFactory.create`. */
export type SampleHttpConfig = Pick<SampleConfig, 'httpAdapter' | 'globalPrefix' | 'trustProxy' | 'tls'>;

export function loadSampleHttpConfig(env: NodeJS.ProcessEnv = process.env): SampleHttpConfig {
  return { httpAdapter: httpAdapter(env.HTTP_ADAPTER), globalPrefix: globalPrefix(env.GLOBAL_PREFIX), trustProxy: trustProxy(env.TRUST_PROXY), tls: tlsFiles(env) };
}

/** Both PEM files or neither; a file that cannot be read stops the start naming the variable. */
function tlsFiles(env: NodeJS.ProcessEnv): SampleConfig['tls'] {
  const certFile = env.TLS_CERT_FILE || undefined;
  const keyFile = env.TLS_KEY_FILE || undefined;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw new Error('TLS_CERT_FILE and TLS_KEY_FILE go together: set both (PEM files) or neither.');
  const read = (file: string, name: string) => {
    try {
      return readFileSync(file);
    } catch {
      throw new Error(`${name}: cannot read ${JSON.stringify(file)}`);
    }
  };
  return { cert: read(certFile, 'TLS_CERT_FILE'), key: read(keyFile, 'TLS_KEY_FILE') };
}

function httpAdapter(value: string | undefined): HttpAdapterName {
  const adapter = value || 'express';
  if (adapter === 'express' || adapter === 'fastify') return adapter;
  throw new Error(`HTTP_ADAPTER must be "express" or "fastify"; got ${JSON.stringify(value)}`);
}

function globalPrefix(value: string | undefined): string | undefined {
  const prefix = (value ?? '').trim().replace(/^\/+|\/+$/g, '');
  if (prefix === '') return undefined;
  // Plain segments only: the prefix becomes part of every route pattern and of the cookie Path.
  if (!/^[\w.~-]+(\/[\w.~-]+)*$/.test(prefix)) throw new Error(`GLOBAL_PREFIX must be a path such as "api" or "api/v1"; got ${JSON.stringify(value)}`);
  return prefix;
}

const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * `TRUST_PROXY`: `true`, `false`, a hop count (`1` is one hop, not `true`), or a comma-separated
 * list of addresses, subnets and range names, as Express's `trust proxy` takes them. Checked here
 * so that a typo stops the start with this message rather than one from deep inside the adapter.
 */
function trustProxy(value: string | undefined): TrustProxy {
  const raw = (value ?? '').trim();
  if (raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  // Zero hops trusts nobody: the same as off.
  if (/^\d+$/.test(raw)) return Number(raw) || false;
  const entries = list(raw);
  const bad = entries.find((entry) => !isProxyAddress(entry));
  if (bad !== undefined || entries.length === 0) {
    throw new Error(
      `TRUST_PROXY must be "true", "false", a hop count, or a comma-separated list of IP addresses, subnets (10.0.0.0/8) ` +
        `and loopback, linklocal or uniquelocal; got ${JSON.stringify(bad ?? value)}`,
    );
  }
  return entries;
}

function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const [address, range, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (range === undefined) return true;
  if (family === 4 && isIP(range) === 4) return true; // a netmask, which Express also takes
  return /^\d+$/.test(range) && Number(range) <= (family === 4 ? 32 : 128);
}

/** Reads and checks the environment; throws a message that says what to set. */
export function loadSampleConfig(env: NodeJS.ProcessEnv = process.env): SampleConfig {
  const production = env.NODE_ENV === 'production';
  const development = DEVELOPMENT_ENVS.has(env.NODE_ENV ?? '');
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set (npm start sets it to the embedded engine when it is missing).');
  const adminEmails = new Set(list(env.ADMIN_EMAILS).map(normaliseEmail));
  if (!development && adminEmails.size > 0) {
    throw new Error('ADMIN_EMAILS is for development only (NODE_ENV=development or test): grant roles another way.');
  }
  const trustedOrigins = list(env.TRUSTED_ORIGINS);
  return {
    production,
    port: int(env.PORT, 3000, 'PORT'),
    ...loadSampleHttpConfig(env),
    databaseUrl,
    databasePoolSize: int(env.DATABASE_POOL_SIZE, 10, 'DATABASE_POOL_SIZE'),
    databaseStatementTimeoutMs: parseDuration(env.DB_STATEMENT_TIMEOUT ?? '2', 'DB_STATEMENT_TIMEOUT') * 1000,
    session: sessionSettings(env, trustedOrigins),
    trustedOrigins,
    adminEmails,
    authRateLimits: authRateLimits(env),
    serviceApiKeys: parseServiceApiKeys(env.SERVICE_API_KEYS),
  };
}

/** Per client address and per account (the normalised email), each per `RATE_LIMIT_WINDOW`. */
function authRateLimits(env: NodeJS.ProcessEnv): AuthRateLimits {
  const window = parseDuration(env.RATE_LIMIT_WINDOW ?? '60s', 'RATE_LIMIT_WINDOW');
  const limit = (name: string, fallback: number): RateLimit => ({ limit: positive(env[name], fallback, name), window });
  return {
    loginPerIp: limit('LOGIN_RATE_LIMIT', 10),
    loginPerAccount: limit('LOGIN_ACCOUNT_RATE_LIMIT', 5),
    registerPerIp: limit('REGISTER_RATE_LIMIT', 5),
    registerPerAccount: limit('REGISTER_ACCOUNT_RATE_LIMIT', 3),
  };
}

/** The largest `limit` the library's rate limiter takes (`SessionRateLimiter.consume` refuses more). */
export const MAX_RATE_LIMIT = 1_000_000_000;

function positive(value: string | undefined, fallback: number, name: string): number {
  const n = int(value, fallback, name);
  if (n === 0) throw new Error(`${name} must be at least 1`);
  // Refused here, at start: the limiter would refuse it at every request (a 500).
  if (n > MAX_RATE_LIMIT) throw new Error(`${name} must be at most 1,000,000,000`);
  return n;
}

/** `REFRESH_RATE_LIMIT` (failed attempts per client address) and `REFRESH_SESSION_RATE_LIMIT` (attempts per session), per `RATE_LIMIT_WINDOW`. */
function refreshRateLimits(env: NodeJS.ProcessEnv): SessionModuleOptions['rateLimits'] {
  const set = (name: string) => env[name] !== undefined && env[name] !== '';
  if (!set('REFRESH_RATE_LIMIT') && !set('REFRESH_SESSION_RATE_LIMIT')) return undefined;
  const window = parseDuration(env.RATE_LIMIT_WINDOW ?? '60s', 'RATE_LIMIT_WINDOW');
  const limit = (name: string) => (set(name) ? { limit: positive(env[name], 1, name), window } : undefined);
  return withoutUndefined({ refreshPerIp: limit('REFRESH_RATE_LIMIT'), refreshPerSession: limit('REFRESH_SESSION_RATE_LIMIT') });
}

/** The SessionModule options the environment sets; unset variables are left to the library. */
function sessionSettings(env: NodeJS.ProcessEnv, trustedOrigins: string[]): SampleConfig['session'] {
  const set = (name: string) => env[name] !== undefined && env[name] !== '';
  const seconds = (name: string) => (set(name) ? parseDuration(env[name]!, name) : undefined);
  const revocation = env.SESSION_REVOCATION;
  if (revocation !== undefined && revocation !== 'strict' && revocation !== 'stateless') {
    throw new Error(`SESSION_REVOCATION must be "strict" or "stateless"; got ${JSON.stringify(revocation)}`);
  }
  if (set('COOKIE_SECURE') && !bool(env.COOKIE_SECURE, true, 'COOKIE_SECURE') && !DEVELOPMENT_ENVS.has(env.NODE_ENV ?? '')) {
    throw new Error('COOKIE_SECURE=false is for plain-http development only (NODE_ENV=development or test).');
  }
  const signingKeys = set('JWT_SIGNING_KEYS') ? parseSigningKeys(env.JWT_SIGNING_KEYS!) : undefined;
  const options: SampleConfig['session'] = {
    // Beside a key set, JWT_SECRET is the legacy key (tokens without kid) and only when set.
    jwtSecret: signingKeys && !set('JWT_SECRET') ? undefined : secret(env, 'JWT_SECRET'),
    signingKeys,
    currentSigningKey: env.JWT_CURRENT_KEY || undefined,
    hs256Migration: set('JWT_HS256_MIGRATION') ? bool(env.JWT_HS256_MIGRATION, false, 'JWT_HS256_MIGRATION') : undefined,
    sessionSecret: secret(env, 'SESSION_SECRET'),
    previousSessionSecrets: set('PREVIOUS_SESSION_SECRETS') ? list(env.PREVIOUS_SESSION_SECRETS) : undefined,
    accessTokenTtl: seconds('ACCESS_TOKEN_TTL'),
    idleTimeout: seconds('SESSION_IDLE_TIMEOUT'),
    absoluteTimeout: seconds('SESSION_ABSOLUTE_TIMEOUT'),
    refreshReuseGrace: seconds('REFRESH_REUSE_GRACE'),
    revocation: revocationSettings(env, revocation as 'strict' | 'stateless' | undefined, {
      ttl: seconds('REVOCATION_CACHE_TTL'),
      maxAge: seconds('REVOCATION_CACHE_MAX_AGE'),
      max: set('REVOCATION_CACHE_MAX') ? int(env.REVOCATION_CACHE_MAX, 0, 'REVOCATION_CACHE_MAX') : undefined,
    }, seconds('REVOCATION_HEARTBEAT')),
    transports: set('SESSION_TRANSPORTS') ? (list(env.SESSION_TRANSPORTS) as SessionTransport[]) : undefined,
    dpop: set('SESSION_DPOP') ? dpopMode(env.SESSION_DPOP!) : undefined,
    dbsc: set('SESSION_DBSC') ? onOff(env.SESSION_DBSC!, 'SESSION_DBSC') : undefined,
    cookies: set('COOKIE_SECURE') ? { secure: bool(env.COOKIE_SECURE, true, 'COOKIE_SECURE') } : undefined,
    clearSiteData: set('CLEAR_SITE_DATA') ? bool(env.CLEAR_SITE_DATA, true, 'CLEAR_SITE_DATA') : undefined,
    auditLog: set('SESSION_AUDIT_LOG') ? bool(env.SESSION_AUDIT_LOG, true, 'SESSION_AUDIT_LOG') : undefined,
    sessionLimit: set('SESSION_LIMIT')
      ? { max: positive(env.SESSION_LIMIT, 1, 'SESSION_LIMIT'), onLimit: (env.SESSION_LIMIT_POLICY || undefined) as 'evict_oldest' | 'refuse' | undefined }
      : undefined,
    csrf: { appOrigin: env.APP_ORIGIN || undefined, trustedOrigins },
    verifiedTokenCacheSize: set('VERIFIED_TOKEN_CACHE') ? int(env.VERIFIED_TOKEN_CACHE, 0, 'VERIFIED_TOKEN_CACHE') : undefined,
    cleanup: Object.keys(cleanupSettings(env)).length > 0 ? cleanupSettings(env) : undefined,
    rateLimits: refreshRateLimits(env),
    rememberMe:
      set('REMEMBER_ME') && bool(env.REMEMBER_ME, false, 'REMEMBER_ME')
        ? withoutUndefined({ idleTimeout: seconds('REMEMBER_ME_IDLE_TIMEOUT'), absoluteTimeout: seconds('REMEMBER_ME_ABSOLUTE_TIMEOUT') })
        : undefined,
  };
  return withoutUndefined(options);
}

/** `SESSION_DBSC`: `on` binds browser sessions to a device key (DBSC); `off`, the default, does not. */
function onOff(value: string, name: string): boolean {
  if (value === 'on' || value === 'off') return value === 'on';
  throw new Error(`${name} must be "on" or "off"; got ${JSON.stringify(value)}`);
}

/** `SESSION_DPOP`: `off` (the default), `allowed` (a bearer login with a proof is bound) or `required` (every bearer login needs one). */
function dpopMode(value: string): NonNullable<SessionModuleOptions['dpop']> {
  if (value === 'off' || value === 'allowed' || value === 'required') return value;
  throw new Error(`SESSION_DPOP must be "off", "allowed" or "required"; got ${JSON.stringify(value)}`);
}

/** The cleanup settings the environment sets (`npm run sessions:cleanup` needs only these). */
export function cleanupSettings(env: NodeJS.ProcessEnv): NonNullable<SessionModuleOptions['cleanup']> {
  const set = (name: string) => env[name] !== undefined && env[name] !== '';
  return withoutUndefined({
    enabled: set('SESSION_CLEANUP') ? bool(env.SESSION_CLEANUP, true, 'SESSION_CLEANUP') : undefined,
    cron: env.SESSION_CLEANUP_CRON || undefined,
    retention: set('SESSION_RETENTION') ? parseDuration(env.SESSION_RETENTION!, 'SESSION_RETENTION') : undefined,
    batchSize: set('SESSION_CLEANUP_BATCH') ? int(env.SESSION_CLEANUP_BATCH, 0, 'SESSION_CLEANUP_BATCH') : undefined,
  });
}

type RevocationSettings = NonNullable<SessionModuleOptions['revocation']>;

/** The `revocation` options the environment sets; none set: the library's defaults. */
function revocationSettings(
  env: NodeJS.ProcessEnv,
  mode: RevocationSettings['mode'],
  cache: NonNullable<RevocationSettings['cache']>,
  heartbeat: RevocationSettings['heartbeat'],
): RevocationSettings | undefined {
  const setCache = withoutUndefined(cache);
  const settings = withoutUndefined({ mode, bus: revocationBus(env), heartbeat, cache: Object.keys(setCache).length > 0 ? setCache : undefined });
  return Object.keys(settings).length > 0 ? settings : undefined;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * `REVOCATION_BUS`: `postgres` (LISTEN/NOTIFY, the default on a server), `redis` (needs
 * `REDIS_URL`) or `none`. The embedded engine has one connection and cannot LISTEN beside it, so
 * there the default is `none` (one process anyway).
 */
function revocationBus(env: NodeJS.ProcessEnv): RevocationSettings['bus'] {
  const bus = env.REVOCATION_BUS || (env.DATABASE_POOL_SIZE === '1' ? 'none' : undefined);
  if (bus === undefined || bus === 'postgres' || bus === 'none') return bus;
  if (bus === 'redis') {
    if (!env.REDIS_URL) throw new Error('REVOCATION_BUS=redis needs REDIS_URL (e.g. redis://127.0.0.1:6379).');
    return { redis: env.REDIS_URL };
  }
  throw new Error(`REVOCATION_BUS must be "postgres", "redis" or "none"; got ${JSON.stringify(bus)}`);
}

/**
 * `JWT_SIGNING_KEYS`: a JSON array of `{ "kid", "alg", "key" }` (`key`: the HS256 secret, or a
 * PEM private or public key with its newlines written as `\n`). The library checks each key.
 */
function parseSigningKeys(value: string): SigningKey[] {
  let keys: unknown;
  try {
    keys = JSON.parse(value);
  } catch {
    throw new Error('JWT_SIGNING_KEYS must be a JSON array of { "kid", "alg", "key" }; it is not valid JSON.');
  }
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'object' || k === null || typeof (k as SigningKey).key !== 'string')) {
    throw new Error('JWT_SIGNING_KEYS must be a JSON array of { "kid", "alg", "key" } with each key as a string.');
  }
  return keys as SigningKey[];
}

/** NFKC and lower case, so that look-alike spellings of one address are one account. */
export function normaliseEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase();
}

/**
 * The `sample` config namespace for `ConfigModule.forRoot({ load: [sampleConfig] })`. Its factory
 * runs when the app starts, so a bad variable stops the start with a message.
 */
export const sampleConfig = registerAs('sample', () => loadSampleConfig());
