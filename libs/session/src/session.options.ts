import type { KeyObject } from 'node:crypto';
import type { Duration } from './duration';
import type { DataSource } from 'typeorm';
import type { SessionTransport, SessionUser, UserId } from './session.types';
import type { RateLimit } from './rate-limit/rate-limit-options';
import type { SigningKey } from './tokens/signing-keys';
import type { SessionRateLimitStore } from './rate-limit/session-rate-limit-store';

/**
 * Options of `SessionModule.forRoot()` / `forRootAsync()`. `Id` is the app's user id type
 * (`string` or `number`); left out, `loadUser` may take either. Validated once at start:
 * a bad value throws a `SessionConfigError` saying what to fix.
 */
export interface SessionModuleOptions<Id extends UserId = any> {
  /**
   * HS256 signing key for access tokens: at least 32 bytes, random. Required unless
   * `signingKeys` is set; beside `signingKeys` it only verifies the tokens it signed before
   * (they carry no `kid`), so sessions survive the move to a key set.
   */
  jwtSecret?: string | Buffer | KeyObject;
  /**
   * Access-token keys, each with a `kid` and one algorithm (HS256, ES256, RS256 or EdDSA). New tokens are
   * signed with `currentSigningKey` and carry its `kid`; a token verifies only with the key its
   * `kid` names, and only in that key's algorithm. Public keys are served at
   * `GET /.well-known/jwks.json`. See docs/signing-keys.md for the rotation runbook.
   */
  signingKeys?: SigningKey[];
  /** The `kid` of the key that signs new tokens. Default: the first of `signingKeys`. */
  currentSigningKey?: string;
  /**
   * Allows HS256 keys (or `jwtSecret`) beside ES256, RS256 or EdDSA keys, which is refused at start
   * otherwise: while an HMAC secret verifies, whoever holds it can mint tokens. Set it only while
   * moving from HS256 to an asymmetric key, and remove it with the HS256 keys; every start
   * with it warns. Default: `false`.
   */
  hs256Migration?: boolean;
  /**
   * Root secret (at least 32 bytes) from which the CSRF key and the refresh-token pepper are
   * derived with HKDF. Must differ from `jwtSecret`. Required.
   */
  sessionSecret: string | Buffer;
  /**
   * Earlier values of `sessionSecret`, newest first (at most 5), while rotating it: CSRF tokens,
   * refresh secrets and revocation messages made under them still verify, and everything new is
   * made under `sessionSecret` (each refresh moves its session onto it). Drop one once every
   * session has refreshed since (the idle timeout) and every instance runs the new secret.
   */
  previousSessionSecrets?: Array<string | Buffer>;
  /**
   * Loads the user at each refresh (never per request). It gets the id in the type `issue` was
   * given (a number stays a number). Return `null` for a deleted or disabled user: the session is
   * then revoked. Required.
   */
  loadUser(userId: Id): Promise<SessionUser<Id> | null> | SessionUser<Id> | null;
  /** `iss` claim of access tokens. Default `'nest-sessions'`. */
  issuer?: string;
  /** `aud` claim of access tokens. Default `'nest-sessions'`. */
  audience?: string;
  /** Access token lifetime. Default 10 minutes; must not exceed the idle timeout, nor 1 hour unless `allowLongAccessTokens`. */
  accessTokenTtl?: Duration;
  /** Allows an `accessTokenTtl` over 1 hour. Default `false`. */
  allowLongAccessTokens?: boolean;
  /**
   * The "remember me" profile: a login that asks for it (`rememberMe` in `SessionHttp.login` or
   * `issue`) gets these lifetimes and persistent cookies. Once it is set, every other login gets
   * the default lifetimes and cookies that end with the browser session. Unset (default): every
   * session has persistent cookies and the default lifetimes, as before.
   */
  rememberMe?: { idleTimeout?: Duration; absoluteTimeout?: Duration };
  /**
   * Lifetimes from the user (shorter for administrators, say): called at login with the user and
   * whether "remember me" was asked for; what it returns replaces the profile's lifetimes.
   */
  sessionLifetime?: (user: SessionUser<Id>, rememberMe: boolean) => { idleTimeout?: Duration; absoluteTimeout?: Duration } | null | undefined;
  /** A session whose refresh token is unused this long ends. Default 24 hours. */
  idleTimeout?: Duration;
  /** No session lives longer than this, however often refreshed. Default 7 days. */
  absoluteTimeout?: Duration;
  /** How long the just-rotated refresh token is still accepted (parallel tabs). Default 10 s; 0 turns it off. */
  refreshReuseGrace?: Duration;
  /**
   * How many grace-window refreshes one generation allows (parallel tabs), across all instances;
   * more answer 429 `RATE_LIMITED`. Default 20.
   */
  graceRefreshLimit?: number;
  /**
   * Refresh attempts per session id (every attempt) and failed refresh attempts per client
   * address, in a store every instance shares. Beyond them: 429 `RATE_LIMITED` with
   * `Retry-After`, for any token, before it is checked. Defaults: 30 per minute per session, 120
   * failures per minute per address, in Postgres.
   */
  rateLimits?: SessionRateLimitOptions;
  /** Allowed clock difference when checking `exp`, `nbf` and `iat`. Default 5 s. */
  clockSkew?: Duration;
  /** How a revocation reaches access tokens: strict (default) or stateless, and strict mode's cache and bus. */
  revocation?: SessionRevocationOptions;
  /** Transports the app allows. Default both: `['cookie', 'bearer']`. */
  transports?: SessionTransport[];
  /**
   * DPoP (RFC 9449) for the bearer transport: a bearer login with a `DPoP` proof binds the
   * session to the client's key, its access tokens carry `cnf.jkt` and need a proof on every
   * request (`Authorization: DPoP`), and its refresh token is worthless without the key.
   * `'allowed'`: sessions without a proof stay plain bearer sessions. `'required'`: a bearer login,
   * request or refresh without a proof is refused. Default `'off'`. See docs/dpop.md.
   */
  dpop?: 'off' | 'allowed' | 'required';
  /**
   * Require a server nonce in every DPoP proof (RFC 9449 §8), so a proof cannot be made ahead of
   * time: a proof without a current one is refused with `use_dpop_nonce` and a `DPoP-Nonce` header
   * to retry with, and every DPoP-authenticated answer carries the next one. Any instance checks
   * them without shared state. Default `false`.
   */
  dpopNonce?: boolean;
  /**
   * Device Bound Session Credentials (W3C DBSC) for the cookie transport: after a cookie login the
   * browser is offered to bind the session to a key it keeps (in the TPM where there is one); once
   * bound, only the browser refreshes it, proving the key to `…/dbsc/refresh`, and the access
   * cookie lives as long as its token, so copied cookies stop working at the next refresh. Needs
   * secure cookies (HTTPS). Browsers without DBSC work as before. Default `false`. See docs/dbsc.md.
   */
  dbsc?: boolean;
  /**
   * Log every session event (login, refresh, refused refresh, reuse, revocation, CSRF refusal)
   * as one JSON line under the `SessionAudit` logger: time, user id, session id, never a token.
   * Default `true`.
   */
  auditLog?: boolean;
  /**
   * Names the device of a session in `GET sessions` from its user agent. Default: bowser's
   * reading, such as "Firefox on Windows" or "Safari on iOS (mobile)".
   */
  deviceLabel?: (userAgent: string | null) => string | null;
  /**
   * A per-user limit of live sessions (off by default). At a login beyond `max`: `'evict_oldest'`
   * (default) ends the oldest sessions (`session_limit`); `'refuse'` answers 409
   * `SESSION_LIMIT_REACHED` and starts nothing.
   */
  sessionLimit?: { max: number; onLimit?: 'evict_oldest' | 'refuse' };
  /** Cookie settings. */
  cookies?: SessionCookieOptions;
  /** Send `Clear-Site-Data: "cookies"` on logout. Default `true` (it clears every cookie of the site). */
  clearSiteData?: boolean;
  /** CSRF protection settings (used by `CsrfGuard`). */
  csrf?: SessionCsrfOptions;
  /** Scheduled deletion of ended sessions (`SessionCleanupService`). */
  cleanup?: SessionCleanupOptions;
  /** Capacity of the verified-access-token cache in front of passport. Default 10,000; 0 disables it. */
  verifiedTokenCacheSize?: number;
  /** How many earlier refresh-secret hashes a session keeps for reuse detection. Default 32. */
  lineageSize?: number;
}

/** `revocation`: when a revocation reaches access tokens, and how instances tell each other. */
export interface SessionRevocationOptions {
  /**
   * `'strict'` (default): every guarded request checks that the session is live, so a revocation
   * acts at once. `'stateless'`: no database work per request; revocation reaches access tokens
   * when they expire (at most `accessTokenTtl`).
   */
  mode?: 'strict' | 'stateless';
  /**
   * Strict mode's cache of open sessions. While this instance's revocation listener is proven
   * alive (its heartbeat comes back), an entry answers for up to `maxAge` (default 60 s;
   * re-read in the background after half of it): revocations reach it through the bus. With
   * `bus: 'none'` an entry answers for `ttl` (default 5 s), which then bounds how long another
   * instance's revocation goes unseen. While a listener's heartbeat is late, the cache answers
   * nothing. `max` (default 100,000 sessions) bounds memory; `max: 0` checks the database on
   * every request.
   */
  cache?: { ttl?: Duration; maxAge?: Duration; max?: number };
  /**
   * How often the revocation listener sends itself a heartbeat (default 2 s). A listener that has
   * not heard one for two periods counts as deaf (a silently dead connection, PgBouncer in
   * transaction mode): the cache stops answering and the listener reconnects.
   */
  heartbeat?: Duration;
  /**
   * How revocations reach other instances in strict mode. `'postgres'` (default): LISTEN/NOTIFY on
   * the app's database. `{ redis: 'redis://…' }`: Redis pub/sub (PgBouncer in transaction mode).
   * `'none'`: one instance only (each instance still refuses within the cache TTL).
   */
  bus?: 'postgres' | 'none' | { redis: string };
  /** `last_seen_at` is written at most once per this interval per session (strict mode). Default 5 min; 0 never. */
  lastSeenInterval?: Duration;
}

/** `cookies`: the names and the `Secure` flag of the session's three cookies. */
export interface SessionCookieOptions {
  /**
   * `Secure` flag and `__Host-`/`__Secure-` prefixes. Default `true`. `false` is for plain-http
   * development only: allowed only when `NODE_ENV` is `development` or `test`.
   */
  secure?: boolean;
  /** Base names; the prefix is added. Defaults `ns-at`, `ns-rt`, `ns-csrf`. */
  accessName?: string;
  refreshName?: string;
  csrfName?: string;
  /**
   * Path of the refresh cookie. Default: the refresh controller's real mount path, read from the
   * app at start (global prefix included: `/api/auth` under `setGlobalPrefix('api')`). A value
   * that does not reach the refresh route stops the start.
   */
  refreshPath?: string;
}

/** Static options of the module itself, fixed when the module is declared. */
export interface SessionModuleExtras {
  /** Prefix of the refresh controller's routes. Default `'auth'`. */
  routePrefix?: string;
  /** Register the refresh controller and `GET /.well-known/jwks.json`. Default `true`. */
  controller?: boolean;
  /**
   * The app's TypeORM data source holding `auth_sessions`: its name as given to
   * `TypeOrmModule.forRoot({ name })`, or the DataSource itself. Default: the default data source.
   */
  dataSource?: string | DataSource;
}

/** `csrf`: which origins count as the app's own for cookie-authenticated unsafe requests. */
export interface SessionCsrfOptions {
  /**
   * The app's own origin (`https://app.example.com`). Default: the request's `Host`, with the
   * scheme the request came in on only when the app trusts its proxy (`trust proxy`); without
   * that, either scheme, so a TLS-terminating proxy works with default settings.
   */
  appOrigin?: string;
  /** Other origins of the same site allowed to make cookie-authenticated unsafe requests. */
  trustedOrigins?: string[];
}

/** `cleanup`: the scheduled deletion of ended sessions, in batches, by one instance at a time. */
export interface SessionCleanupOptions {
  /** Run the scheduled job. Default `true` (it needs the app's `ScheduleModule.forRoot()`). `runOnce()` works either way. */
  enabled?: boolean;
  /** When the job runs (cron syntax, seconds optional). Default every 10 minutes: `'0 *\/10 * * * *'`. */
  cron?: string;
  /** Each tick waits a random delay up to this long, so instances do not fire together. Default 60 s. */
  jitter?: Duration;
  /**
   * How long an ended (expired or revoked) session is kept before it is deleted. Default 7 days:
   * a replayed refresh token of a recently ended session is still recognised and logged, and
   * recent history stays visible to audits; longer keeps more rows.
   */
  retention?: Duration;
  /**
   * Rows deleted per statement. Default 5,000: beside refresh traffic its batches held their
   * locks for at most 14 ms (BENCHMARKS.md §4).
   */
  batchSize?: number;
  /** A pass stops after this long even if rows remain; the next tick goes on. Default 60 s. */
  timeBudget?: Duration;
  /** A fixed pause between batches, in milliseconds, added to the proportional one. Default 0. */
  pauseMs?: number;
  /**
   * After each batch, pause for this multiple of the batch's own duration, so the purge leaves
   * room for the app's queries and backs off when the database is slow. Default 0.5: a third of
   * the pass's time is pauses, which kept refresh p99 during a purge near its idle figure while
   * the pass still deleted about 500,000 rows/s (BENCHMARKS.md §4); 0 purges flat out.
   */
  pauseFactor?: number;
}

/** `SessionModuleOptions.rateLimits`. */
export interface SessionRateLimitOptions {
  /**
   * Failed refresh attempts per client address (the adapter's `req.ip`: set trust proxy behind a
   * proxy); once they are spent, every refresh from the address is refused until one refills.
   * Default 120 per minute; `false` turns it off.
   */
  refreshPerIp?: RateLimit | false;
  /** Refresh attempts per session id, whatever the secret. Default 30 per minute; `false` turns it off. */
  refreshPerSession?: RateLimit | false;
  /**
   * Where the counts live: `'postgres'` (default; the `auth_rate_limits` table, and a session's
   * own refresh count in its row, shared by every instance), `'memory'` (this process only: N
   * instances allow N times the limit), or your own.
   */
  store?: 'postgres' | 'memory' | SessionRateLimitStore;
}
