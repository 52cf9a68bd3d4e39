import { createSecretKey, generateKeyPairSync, hkdfSync, KeyObject, randomBytes } from 'node:crypto';
import { resolveSessionOptions, type ResolvedSessionOptions } from './resolve-options';
import { estimateSecretEntropy, MIN_SECRET_ENTROPY_BITS } from './secret-strength';
import { SESSION_DEFAULTS } from './session.defaults';
import { parseDuration } from './duration';
import { SessionConfigError } from './errors/session-config-error';
import type { SessionModuleExtras, SessionModuleOptions } from './session.options';
import { seededBytes } from '../../../test/support/seeded-bytes';

/** A fresh random secret. */
function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

const loadUser = (id: string) => ({ id, roles: [] as string[] });
const TEST_ENV: NodeJS.ProcessEnv = { NODE_ENV: 'test' };

function valid(overrides: Partial<SessionModuleOptions> = {}): SessionModuleOptions {
  return { jwtSecret: randomSecret(), sessionSecret: randomSecret(), loadUser, ...overrides };
}

function resolve(
  overrides: Partial<SessionModuleOptions> = {},
  extras: SessionModuleExtras = {},
  env: NodeJS.ProcessEnv = TEST_ENV,
): ResolvedSessionOptions {
  return resolveSessionOptions(valid(overrides), extras, env);
}

/** Runs `fn`, asserts it threw a SessionConfigError, and returns it. */
function configError(fn: () => unknown): SessionConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SessionConfigError);
    const e = error as SessionConfigError;
    expect(e.code).toBe('SESSION_CONFIG_INVALID');
    expect(e.name).toBe('SessionConfigError');
    expect(e.message.startsWith('nest-sessions: ')).toBe(true);
    return e;
  }
  throw new Error('expected a SessionConfigError; nothing was thrown');
}

/** Reads a field as an unchecked value, to feed wrong types the way a JS or env-driven app could. */
const unchecked = <T>(value: unknown) => value as T;

describe('resolveSessionOptions', () => {
  describe('the options object', () => {
    it.each([undefined, null, 'options', 42])('refuses %p', (options) => {
      const e = configError(() => resolveSessionOptions(unchecked<SessionModuleOptions>(options), {}, TEST_ENV));
      expect(e.message).toBe('nest-sessions: options are required.');
    });
  });

  describe.each(['jwtSecret', 'sessionSecret'] as const)('%s', (name) => {
    it.each<[string, unknown]>([
      ['missing', undefined],
      ['null', null],
      ['a number', 12345678901234567890],
      ['an object', { value: 'x' }],
      ['a Uint8Array that is not a Buffer', new Uint8Array(32)],
    ])('is required: %s', (_label, value) => {
      const e = configError(() => resolve({ [name]: unchecked(value) }));
      // Without signingKeys, jwtSecret is the key set; undefined means neither was given.
      const expected =
        name === 'jwtSecret' && value === undefined
          ? 'nest-sessions: jwtSecret or signingKeys is required: the keys that sign access tokens.'
          : `nest-sessions: ${name} is required: set it to at least 32 random bytes.`;
      expect(e.message).toBe(expected);
    });

    it.each<[string, string | Buffer, number]>([
      ['an empty string', '', 0],
      ['a 16-byte random string', randomBytes(12).toString('base64url'), 16],
      ['a 31-byte random string', randomSecret().slice(0, 31), 31],
      ['a 31-byte random Buffer', randomBytes(31), 31],
    ])('refuses %s as too short, saying how to make a good one', (_label, value, bytes) => {
      const e = configError(() => resolve({ [name]: value }));
      expect(e.message).toContain(`${name} is ${bytes} bytes; use at least 32 random bytes`);
      expect(e.message).toContain("require('crypto').randomBytes(32).toString('base64url')");
    });

    it('counts UTF-8 bytes, not characters', () => {
      // 16 two-byte characters = 32 bytes: long enough; 15 of them (30 bytes) are not.
      const sixteen = 'äöüßéèêëàâîïôûçñ';
      expect(sixteen).toHaveLength(16);
      expect(() => resolve({ [name]: sixteen })).not.toThrow();
      expect(configError(() => resolve({ [name]: sixteen.slice(1) })).message).toContain(`${name} is 30 bytes`);
    });

    it.each<[string, string]>([
      ['changeme', 'changeme-changeme-changeme-changeme'],
      ['a repeated letter', 'a'.repeat(40)],
      ['two alternating letters', 'ab'.repeat(20)],
      ['nine distinct characters', 'abcdefghi'.repeat(4)],
      ['words only', 'your-super-secret-jwt-key-change-in-production'],
      ['words and a short number', 'my-app-session-secret-password-2024'],
      ['a repeated short random part', `${'x7Qp'.repeat(10)}`],
      ['the NestJS docs\' placeholder', 'DO NOT USE THIS VALUE. INSTEAD, CREATE A COMPLEX SECRET AND KEEP IT SAFE OUTSIDE OF THE SOURCE CODE.'],
      ['jwt.io\'s default', 'a-string-secret-at-least-256-bits-long'],
      ['an instruction', 'replace-with-a-long-random-string-of-at-least-32-chars'],
      ['run-together words', 'supersecretkeythatshouldbelongerthan32chars'],
      ['the alphabet and the digits', 'abcdefghijklmnopqrstuvwxyz0123456789'],
      ['counting digits', '0123456789012345678901234567890123456789'],
      ['a passphrase', 'correct horse battery staple and more words here'],
      ['run-together words with inflections', 'thisisasecretkeyusedforsigningjwts'],
      ['more inflections', 'mysupersecretjwtsecretsforsigningtokens'],
      ['an instruction run together', 'thisisnotasecurekeypleasechangeitbeforedeploying'],
      ['capitals run together', 'THISISMYSECRETKEYFORTHEAPPLICATION'],
      ['PascalCase words', 'YourSuperSecretKeyHereChangeInProduction'],
      ['PascalCase words and a year', 'MySuperSecretKey_ChangeMe_InProd_2024'],
    ])('refuses a value without enough randomness (%s)', (_label, value) => {
      expect(Buffer.byteLength(value)).toBeGreaterThanOrEqual(32);
      const e = configError(() => resolve({ [name]: value }));
      expect(e.message).toContain(`nest-sessions: ${name} looks like a placeholder: it carries less than 100 bits of randomness`);
      expect(e.message).toContain("require('crypto').randomBytes(32).toString('base64url')");
    });

    it.each<[string, () => string]>([
      ['myapp-jwt-secret-<43 random base64url chars>', () => `myapp-jwt-secret-${randomSecret()}`],
      ['CHANGE_ME_<random>', () => `CHANGE_ME_${randomSecret()}`],
      ['Password<random>', () => `Password${randomSecret()}`],
      ['<random>-example', () => `${randomSecret()}-example`],
      ['32 random bytes in hex', () => randomBytes(32).toString('hex')],
      ['16 random bytes in hex (128 bits)', () => randomBytes(16).toString('hex')],
      ['32 random bytes in base64', () => randomBytes(32).toString('base64')],
    ])('accepts a strong secret whatever words it contains: %s', (_label, make) => {
      expect(() => resolve({ [name]: make() })).not.toThrow();
    });

    it('never refuses a random value: 2,000 seeded values of each common encoding pass (the failures, if any, named)', () => {
      const seed = `resolve-options:${name}`;
      const bytes = seededBytes(seed);
      const letters = (n: number, from: number, size: number) => Array.from(bytes(n), (b) => String.fromCharCode(from + (b % size))).join('');
      const refused: Array<{ encoding: string; value: string; bits: number }> = [];
      for (let i = 0; i < 2_000; i++) {
        const values: Record<string, string | Buffer> = {
          '32 raw bytes': bytes(32),
          '32 bytes in base64url': bytes(32).toString('base64url'),
          'words and 32 bytes in base64url': `myapp-jwt-secret-${bytes(32).toString('base64url')}`,
          '16 bytes in hex': bytes(16).toString('hex'),
          '24 bytes in base64': bytes(24).toString('base64'),
          '40 digits': letters(40, 48, 10),
          '32 lowercase letters': letters(32, 97, 26),
        };
        for (const [encoding, value] of Object.entries(values)) {
          const bits = estimateSecretEntropy(Buffer.isBuffer(value) ? value : Buffer.from(value));
          if (bits < MIN_SECRET_ENTROPY_BITS) refused.push({ encoding, value: Buffer.isBuffer(value) ? value.toString('hex') : value, bits });
        }
      }
      expect({ seed, refused }).toEqual({ seed, refused: [] });
    });

    it('accepts the 32 random lowercase letters that letter pairs once read as English', () => {
      expect(() => resolve({ [name]: 'prxbecleluseersunorhlfidcsedrfor' })).not.toThrow();
    });

    it('refuses a placeholder given as a Buffer too', () => {
      const e = configError(() => resolve({ [name]: Buffer.from('changeme-changeme-changeme-changeme') }));
      expect(e.message).toContain(`${name} looks like a placeholder`);
    });

    it('accepts 32 random bytes as a Buffer and a random base64url string', () => {
      expect(() => resolve({ [name]: randomBytes(32) })).not.toThrow();
      expect(() => resolve({ [name]: randomSecret() })).not.toThrow();
    });
  });

  describe('jwtSecret as a KeyObject', () => {
    it('accepts a secret KeyObject and uses its bytes as the HS256 key', () => {
      const bytes = randomBytes(32);
      const resolved = resolve({ jwtSecret: createSecretKey(bytes) });
      expect(resolved.keys.current.verifyKey.type).toBe('secret');
      expect(resolved.keys.current.verifyKey.export().equals(bytes)).toBe(true);
    });

    it('refuses an asymmetric key', () => {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      for (const key of [publicKey, privateKey]) {
        const e = configError(() => resolve({ jwtSecret: key }));
        expect(e.message).toBe('nest-sessions: jwtSecret must be a secret key (HS256).');
      }
    });

    it('refuses a short secret KeyObject', () => {
      const e = configError(() => resolve({ jwtSecret: createSecretKey(randomBytes(16)) }));
      expect(e.message).toContain('jwtSecret is 16 bytes');
    });
  });

  describe('one key, one purpose', () => {
    it('refuses the same value for jwtSecret and sessionSecret', () => {
      const secret = randomSecret();
      const e = configError(() => resolve({ jwtSecret: secret, sessionSecret: secret }));
      expect(e.message).toBe('nest-sessions: sessionSecret must differ from jwtSecret and every HS256 signing key: each key has one purpose.');
    });

    it('refuses the same bytes given in different forms', () => {
      const secret = randomSecret();
      expect(() => resolve({ jwtSecret: Buffer.from(secret), sessionSecret: secret })).toThrow(/sessionSecret must differ from jwtSecret/);
      expect(() => resolve({ jwtSecret: createSecretKey(Buffer.from(secret)), sessionSecret: secret })).toThrow(
        /sessionSecret must differ from jwtSecret/,
      );
    });
  });

  describe('loadUser', () => {
    it.each<[string, unknown]>([
      ['missing', undefined],
      ['null', null],
      ['an object', { loadUser() {} }],
      ['a string', 'users.findById'],
    ])('is required: %s', (_label, value) => {
      const e = configError(() => resolve({ loadUser: unchecked(value) }));
      expect(e.message).toContain('loadUser is required');
      expect(e.message).toContain('(userId) =>');
    });

    it('is kept as given', () => {
      const fn = jest.fn();
      expect(resolve({ loadUser: fn }).loadUser).toBe(fn);
    });
  });

  describe('defaults', () => {
    let jwtSecret: string;
    let resolved: ResolvedSessionOptions;
    beforeAll(() => {
      jwtSecret = randomSecret();
      resolved = resolveSessionOptions({ jwtSecret, sessionSecret: randomSecret(), loadUser }, {}, TEST_ENV);
    });

    it('lifetimes: 600 s access token, 24 h idle, 7 d absolute, 10 s grace, 5 s skew', () => {
      expect(resolved.accessTokenTtlMs).toBe(600 * 1000);
      expect(resolved.idleTimeoutMs).toBe(86_400 * 1000);
      expect(resolved.absoluteTimeoutMs).toBe(604_800 * 1000);
      expect(resolved.refreshReuseGraceMs).toBe(10 * 1000);
      expect(resolved.clockSkewMs).toBe(5 * 1000);
    });

    it('strict revocation and both transports', () => {
      expect(resolved.revocation).toBe('strict');
      expect([...resolved.transports].sort()).toEqual(['bearer', 'cookie']);
    });

    it('secure, prefixed cookie names and the /auth refresh path', () => {
      expect(resolved.cookies).toEqual({
        secure: true,
        accessName: '__Host-ns-at',
        refreshName: '__Secure-ns-rt',
        csrfName: '__Host-ns-csrf',
        refreshPath: null,
      });
    });

    it('issuer, audience, route prefix, cache sizes, Clear-Site-Data and CSRF origins', () => {
      expect(resolved.issuer).toBe('nest-sessions');
      expect(resolved.audience).toBe('nest-sessions');
      expect(resolved.routePrefix).toBe('auth');
      expect(resolved.verifiedTokenCacheSize).toBe(10_000);
      expect(resolved.lineageSize).toBe(32);
      expect(resolved.clearSiteData).toBe(true);
      expect(resolved.csrf.appOrigin).toBeNull();
      expect(resolved.csrf.trustedOrigins.size).toBe(0);
    });

    it('the JWT key is a secret KeyObject holding the jwtSecret bytes', () => {
      expect(resolved.keys.current.verifyKey).toBeInstanceOf(KeyObject);
      expect(resolved.keys.current.verifyKey.type).toBe('secret');
      expect(resolved.keys.current.verifyKey.export().equals(Buffer.from(jwtSecret, 'utf8'))).toBe(true);
    });

    it('the defaults hold with NODE_ENV=production too', () => {
      const production = resolve({}, {}, { NODE_ENV: 'production' });
      expect(production.cookies.secure).toBe(true);
      expect(production.cookies.accessName).toBe('__Host-ns-at');
    });
  });

  describe('the rules that say what they mean', () => {
    it.each(['issuer', 'audience'] as const)('refuses an empty or blank %s (it would turn its check off)', (field) => {
      for (const value of ['', '   ']) {
        expect(configError(() => resolve({ [field]: value })).message).toContain(`${field} must be a non-empty string`);
      }
      expect(resolve({ [field]: 'my-app' })[field]).toBe('my-app');
    });

    it('refuses an access token lifetime over 1 hour unless allowLongAccessTokens, saying so', () => {
      const e = configError(() => resolve({ accessTokenTtl: '61m', idleTimeout: '24h' }));
      expect(e.message).toContain('accessTokenTtl (3660s) is over 1 hour');
      expect(e.message).toContain('allowLongAccessTokens: true');
      expect(resolve({ accessTokenTtl: '1h' }).accessTokenTtlMs).toBe(3_600_000);
      expect(resolve({ accessTokenTtl: '2h', allowLongAccessTokens: true }).accessTokenTtlMs).toBe(7_200_000);
    });

    it('every resolved duration is in milliseconds, named in the field', () => {
      const resolved = resolve();
      const durationFields = Object.keys(resolved).filter((k) => /Ms$/.test(k));
      expect(durationFields.sort()).toEqual(['absoluteTimeoutMs', 'accessTokenTtlMs', 'clockSkewMs', 'idleTimeoutMs', 'lastSeenIntervalMs', 'refreshReuseGraceMs', 'revocationHeartbeatMs']);
      expect(Object.keys(resolved.cleanup).filter((k) => /Ms$/.test(k)).sort()).toEqual(['jitterMs', 'pauseMs', 'retentionMs', 'timeBudgetMs']);
      expect(resolved.revocationCache.ttlMs).toBe(5_000);
      expect(resolved.revocationCache.maxAgeMs).toBe(60_000);
      expect(resolved.revocationHeartbeatMs).toBe(2_000);
    });

    it('the defaults come from SESSION_DEFAULTS, which cannot be changed at run time', () => {
      expect(Object.isFrozen(SESSION_DEFAULTS)).toBe(true);
      expect(Object.isFrozen(SESSION_DEFAULTS.cleanup)).toBe(true);
      const resolved = resolve();
      expect(resolved.accessTokenTtlMs).toBe(parseDuration(SESSION_DEFAULTS.accessTokenTtl) * 1000);
      expect(resolved.idleTimeoutMs).toBe(parseDuration(SESSION_DEFAULTS.idleTimeout) * 1000);
      expect(resolved.cleanup.batchSize).toBe(SESSION_DEFAULTS.cleanup.batchSize);
      expect(resolved.lineageSize).toBe(SESSION_DEFAULTS.lineageSize);
    });
  });

  describe('durations', () => {
    it('accepts numbers and duration strings', () => {
      const resolved = resolve({
        accessTokenTtl: '5m',
        idleTimeout: '12h',
        absoluteTimeout: '30d',
        refreshReuseGrace: '0',
        clockSkew: '1m',
      });
      expect(resolved.accessTokenTtlMs).toBe(300 * 1000);
      expect(resolved.idleTimeoutMs).toBe(43_200 * 1000);
      expect(resolved.absoluteTimeoutMs).toBe(2_592_000 * 1000);
      expect(resolved.refreshReuseGraceMs).toBe(0 * 1000);
      expect(resolved.clockSkewMs).toBe(60 * 1000);
      expect(resolve({ accessTokenTtl: 60, idleTimeout: 60, absoluteTimeout: 60 }).absoluteTimeoutMs).toBe(60 * 1000);
    });

    it.each(['accessTokenTtl', 'idleTimeout', 'absoluteTimeout', 'refreshReuseGrace', 'clockSkew'] as const)(
      'refuses a malformed %s, naming it and the value',
      (name) => {
        for (const value of ['ten minutes', '1.5h', '-5', '15M', '', -1, Number.NaN, Number.POSITIVE_INFINITY]) {
          const e = configError(() => resolve({ [name]: value }));
          expect(e.message).toContain(`nest-sessions: ${name} must be a number of seconds or a string like`);
          expect(e.message).toContain(`got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
        }
      },
    );

    it('refuses an access token lifetime under one second', () => {
      for (const value of [0, '0', 0.5]) {
        const e = configError(() => resolve({ accessTokenTtl: value }));
        expect(e.message).toBe('nest-sessions: accessTokenTtl must be at least 1 second.');
      }
      expect(resolve({ accessTokenTtl: 1 }).accessTokenTtlMs).toBe(1 * 1000);
    });

    it('refuses an idle timeout shorter than the access token lifetime, with both values', () => {
      const e = configError(() => resolve({ accessTokenTtl: '15m', idleTimeout: '10m' }));
      expect(e.message).toContain('idleTimeout (600s) must not be shorter than accessTokenTtl (900s)');
      expect(e.message).toContain('logged out between two refreshes');
      expect(resolve({ accessTokenTtl: '10m', idleTimeout: '10m' }).idleTimeoutMs).toBe(600 * 1000);
    });

    it('compares a long access token lifetime with the default idle timeout', () => {
      const e = configError(() => resolve({ accessTokenTtl: '2d', allowLongAccessTokens: true }));
      expect(e.message).toContain('idleTimeout (86400s) must not be shorter than accessTokenTtl (172800s)');
    });

    it('refuses an absolute timeout shorter than the idle timeout, with both values', () => {
      const e = configError(() => resolve({ idleTimeout: '2d', absoluteTimeout: '1d' }));
      expect(e.message).toBe('nest-sessions: absoluteTimeout (86400s) must not be shorter than idleTimeout (172800s).');
      const withDefaultAbsolute = configError(() => resolve({ idleTimeout: '8d' }));
      expect(withDefaultAbsolute.message).toContain('absoluteTimeout (604800s) must not be shorter than idleTimeout (691200s)');
    });

    it('refuses a refresh reuse grace above 60 s', () => {
      const e = configError(() => resolve({ refreshReuseGrace: 61 }));
      expect(e.message).toContain('refreshReuseGrace above 60 s');
      expect(e.message).toContain('use at most 60');
      expect(resolve({ refreshReuseGrace: '1m' }).refreshReuseGraceMs).toBe(60 * 1000);
    });

    it('refuses a clock skew above 60 s', () => {
      const e = configError(() => resolve({ clockSkew: '2m' }));
      expect(e.message).toBe('nest-sessions: clockSkew must be at most 60 seconds.');
      expect(resolve({ clockSkew: 0 }).clockSkewMs).toBe(0 * 1000);
    });
  });

  describe('revocation', () => {
    it('accepts "stateless"', () => {
      expect(resolve({ revocation: { mode: 'stateless' } }).revocation).toBe('stateless');
    });

    it.each(['lenient', 'STRICT', 'Stateless', '', 'none'])('refuses mode %p, quoting it', (value) => {
      const e = configError(() => resolve({ revocation: { mode: unchecked(value) } }));
      expect(e.message).toBe(`nest-sessions: revocation.mode must be "strict" or "stateless"; got ${JSON.stringify(value)}.`);
    });

    it.each(['strict', 'stateless'])('refuses the 0.x string form %p, saying what to write', (value) => {
      const e = configError(() => resolve({ revocation: unchecked(value) }));
      expect(e.message).toBe(`nest-sessions: revocation is an object since nest-sessions 1.0: write revocation: { mode: "${value}" }.`);
    });

    it.each([
      ['revocationCache', { ttl: 5 }, 'revocation.cache'],
      ['revocationHeartbeat', 2, 'revocation.heartbeat'],
      ['revocationBus', 'none', 'revocation.bus'],
      ['lastSeenInterval', 60, 'revocation.lastSeenInterval'],
    ])('refuses the 0.x option %s, naming where it went', (old, value, now) => {
      const e = configError(() => resolve(unchecked({ [old]: value })));
      expect(e.message).toBe(`nest-sessions: ${old} is now ${now} (nest-sessions 1.0): move it into the revocation options.`);
    });

    it('refuses a revocation that is not an object', () => {
      expect(configError(() => resolve({ revocation: unchecked(42) })).message).toBe('nest-sessions: revocation must be an object such as { mode: "strict" }.');
    });

    it('reads every field of the group', () => {
      const r = resolve({ revocation: { mode: 'stateless', cache: { ttl: 3, maxAge: 30, max: 7 }, heartbeat: 4, bus: { redis: 'redis://h:6379' }, lastSeenInterval: 90 } });
      expect(r.revocation).toBe('stateless');
      expect(r.revocationCache).toEqual({ ttlMs: 3_000, maxAgeMs: 30_000, max: 7 });
      expect(r.revocationHeartbeatMs).toBe(4_000);
      expect(r.revocationBus).toEqual({ kind: 'redis', url: 'redis://h:6379' });
      expect(r.lastSeenIntervalMs).toBe(90_000);
    });
  });

  describe('transports', () => {
    it('accepts one transport, and collapses duplicates', () => {
      expect([...resolve({ transports: ['bearer'] }).transports]).toEqual(['bearer']);
      expect([...resolve({ transports: ['cookie', 'cookie'] }).transports]).toEqual(['cookie']);
    });

    it.each<[string, unknown]>([
      ['an empty list', []],
      ['an unknown transport', ['cookie', 'session']],
      ['a capitalised transport', ['Cookie']],
    ])('refuses %s', (_label, value) => {
      const e = configError(() => resolve({ transports: unchecked(value) }));
      expect(e.message).toBe('nest-sessions: transports must list "cookie", "bearer" or both.');
    });

    it.each<[string, unknown]>([
      ['a single string instead of a list', 'cookie'],
      ['a comma-separated string', 'cookie,bearer'],
      ['an object', {}],
      ['a boolean', true],
    ])('refuses %s as not an array', (_label, value) => {
      const e = configError(() => resolve({ transports: unchecked(value) }));
      expect(e.message).toBe('nest-sessions: transports must be an array such as ["cookie", "bearer"].');
    });
  });

  describe('cookies', () => {
    it.each<[string, NodeJS.ProcessEnv]>([
      ['production', { NODE_ENV: 'production' }],
      ['staging', { NODE_ENV: 'staging' }],
      ['unset', {}],
    ])('refuses cookies.secure=false when NODE_ENV is %s: development only', (_label, env) => {
      const e = configError(() => resolve({ cookies: { secure: false } }, {}, env));
      expect(e.message).toContain('cookies.secure=false (plain-http cookies) is for development only');
      expect(e.message).toContain(JSON.stringify(env.NODE_ENV ?? '(unset)'));
    });

    it.each<[string, NodeJS.ProcessEnv]>([
      ['development', { NODE_ENV: 'development' }],
      ['test', { NODE_ENV: 'test' }],
    ])('allows cookies.secure=false when NODE_ENV is %s, without the prefixes', (_label, env) => {
      const resolved = resolve({ cookies: { secure: false } }, {}, env);
      expect(resolved.cookies).toEqual({
        secure: false,
        accessName: 'ns-at',
        refreshName: 'ns-rt',
        csrfName: 'ns-csrf',
        refreshPath: null,
      });
    });

    it('prefixes custom names (when secure) and keeps a custom refresh path', () => {
      const resolved = resolve({ cookies: { accessName: 'app_at', refreshName: 'app-rt', csrfName: 'XSRF', refreshPath: '/api/auth' } });
      expect(resolved.cookies).toEqual({
        secure: true,
        accessName: '__Host-app_at',
        refreshName: '__Secure-app-rt',
        csrfName: '__Host-XSRF',
        refreshPath: '/api/auth',
      });
    });

    it('normalises the route prefix and leaves the refresh path to the app start (its real mount path)', () => {
      const resolved = resolve({}, { routePrefix: '/api/session/' });
      expect(resolved.routePrefix).toBe('api/session');
      expect(resolved.cookies.refreshPath).toBeNull();
    });

    it('refuses a refresh path that is not a plain absolute path', () => {
      for (const refreshPath of ['auth', '/auth;x', '/a b']) {
        expect(configError(() => resolve({ cookies: { refreshPath } })).message).toContain('must be a plain absolute path');
      }
    });

    it.each(['accessName', 'refreshName', 'csrfName'] as const)('refuses an unsafe %s', (field) => {
      for (const value of ['', 'a b', 'a;b', 'a=b', '__Host-x.y', 'naïve']) {
        const e = configError(() => resolve({ cookies: { [field]: value } }));
        expect(e.message).toBe(`nest-sessions: cookie name ${JSON.stringify(value)} may contain only letters, digits, "-" and "_".`);
      }
    });
  });

  describe('CSRF origins', () => {
    it('normalises good origins', () => {
      const resolved = resolve({
        csrf: {
          appOrigin: 'https://App.Example.com',
          trustedOrigins: ['HTTPS://admin.example.com:443', 'http://localhost:3000/', 'https://other.example.com:8443'],
        },
      });
      expect(resolved.csrf.appOrigin).toBe('https://app.example.com');
      expect([...resolved.csrf.trustedOrigins]).toEqual([
        'https://admin.example.com',
        'http://localhost:3000',
        'https://other.example.com:8443',
      ]);
    });

    it.each([
      '*',
      'null',
      'app.example.com',
      '//app.example.com',
      'https://app.example.com/path',
      'https://app.example.com/auth/',
      'https://app.example.com?x=1',
      'https://user@app.example.com',
      'ftp://app.example.com',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'ws://app.example.com',
      '',
    ])('refuses %p in csrf.trustedOrigins, quoting it', (value) => {
      const e = configError(() => resolve({ csrf: { trustedOrigins: ['https://ok.example.com', value] } }));
      expect(e.message).toBe(
        `nest-sessions: csrf.trustedOrigins: ${JSON.stringify(value)} is not an origin like https://app.example.com (no path, no wildcard).`,
      );
    });

    it.each(['*', 'https://app.example.com/app', 'not a url'])('refuses %p as csrf.appOrigin', (value) => {
      const e = configError(() => resolve({ csrf: { appOrigin: value } }));
      expect(e.message).toBe(`nest-sessions: csrf.appOrigin: ${JSON.stringify(value)} is not an origin like https://app.example.com (no path, no wildcard).`);
    });
  });

  describe('sizes', () => {
    it.each([0, 257, 1.5, -1, Number.NaN])('refuses lineageSize %p', (value) => {
      const e = configError(() => resolve({ lineageSize: value }));
      expect(e.message).toBe('nest-sessions: lineageSize must be an integer from 1 to 256.');
    });

    it('accepts lineageSize 1 and 256', () => {
      expect(resolve({ lineageSize: 1 }).lineageSize).toBe(1);
      expect(resolve({ lineageSize: 256 }).lineageSize).toBe(256);
    });

    it.each([-1, 2.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses verifiedTokenCacheSize %p', (value) => {
      const e = configError(() => resolve({ verifiedTokenCacheSize: value }));
      expect(e.message).toBe('nest-sessions: verifiedTokenCacheSize must be an integer from 0 to 10,000,000.');
    });

    it('accepts verifiedTokenCacheSize 0 (cache off)', () => {
      expect(resolve({ verifiedTokenCacheSize: 0 }).verifiedTokenCacheSize).toBe(0);
    });
  });

  describe('cleanup', () => {
    it('defaults: every 10 minutes with up to 60 s of jitter, 7 d retention, 5,000 rows per batch, pause factor 0.5, 60 s budget', () => {
      expect(resolve().cleanup).toEqual({
        enabled: true,
        cron: '0 */10 * * * *',
        jitterMs: 60_000,
        retentionMs: 604_800_000,
        batchSize: 5_000,
        timeBudgetMs: 60_000,
        pauseMs: 0,
        pauseFactor: 0.5,
      });
    });

    it.each([0, 100_001, 1.5, Number.NaN])('refuses cleanup.batchSize %p', (value) => {
      const e = configError(() => resolve({ cleanup: { batchSize: value } }));
      expect(e.message).toBe('nest-sessions: cleanup.batchSize must be an integer from 1 to 100,000.');
    });

    it.each([-0.1, 101, Number.NaN, Number.POSITIVE_INFINITY, unchecked<number>('1')])('refuses cleanup.pauseFactor %p', (value) => {
      const e = configError(() => resolve({ cleanup: { pauseFactor: value } }));
      expect(e.message).toBe('nest-sessions: cleanup.pauseFactor must be a number from 0 to 100.');
    });

    it('accepts pauseFactor 0 (flat out) and fractions', () => {
      expect(resolve({ cleanup: { pauseFactor: 0 } }).cleanup.pauseFactor).toBe(0);
      expect(resolve({ cleanup: { pauseFactor: 1.5 } }).cleanup.pauseFactor).toBe(1.5);
    });
  });

  describe('derived keys', () => {
    const sessionSecret = randomSecret();
    const jwtSecret = randomSecret();
    const first = resolveSessionOptions({ jwtSecret, sessionSecret, loadUser }, {}, TEST_ENV);

    it('the CSRF key and the refresh pepper are 32 bytes each and differ from each other', () => {
      expect(first.csrfKey).toBeInstanceOf(Buffer);
      expect(first.refreshPepper).toBeInstanceOf(Buffer);
      expect(first.csrfKey).toHaveLength(32);
      expect(first.refreshPepper).toHaveLength(32);
      expect(first.csrfKey.equals(first.refreshPepper)).toBe(false);
    });

    it('neither is the sessionSecret or the jwtSecret itself', () => {
      for (const key of [first.csrfKey, first.refreshPepper]) {
        expect(key.equals(Buffer.from(sessionSecret).subarray(0, 32))).toBe(false);
        expect(key.equals(Buffer.from(jwtSecret).subarray(0, 32))).toBe(false);
        expect(key.equals(first.keys.current.verifyKey.export())).toBe(false);
      }
    });

    it('are deterministic for the same sessionSecret (restarts keep sessions valid), whatever the jwtSecret', () => {
      const again = resolveSessionOptions({ jwtSecret: randomSecret(), sessionSecret, loadUser }, {}, TEST_ENV);
      expect(again.csrfKey.equals(first.csrfKey)).toBe(true);
      expect(again.refreshPepper.equals(first.refreshPepper)).toBe(true);
      const asBuffer = resolveSessionOptions({ jwtSecret, sessionSecret: Buffer.from(sessionSecret), loadUser }, {}, TEST_ENV);
      expect(asBuffer.csrfKey.equals(first.csrfKey)).toBe(true);
      expect(asBuffer.refreshPepper.equals(first.refreshPepper)).toBe(true);
    });

    it('change with the sessionSecret', () => {
      const other = resolveSessionOptions({ jwtSecret, sessionSecret: randomSecret(), loadUser }, {}, TEST_ENV);
      expect(other.csrfKey.equals(first.csrfKey)).toBe(false);
      expect(other.refreshPepper.equals(first.refreshPepper)).toBe(false);
    });

    it('are HKDF-SHA-256 with the documented labels (changing them would invalidate every stored session)', () => {
      const hkdf = (info: string) => Buffer.from(hkdfSync('sha256', Buffer.from(sessionSecret), Buffer.alloc(0), info, 32));
      expect(first.csrfKey.equals(hkdf('nest-sessions csrf v1'))).toBe(true);
      expect(first.refreshPepper.equals(hkdf('nest-sessions refresh-pepper v1'))).toBe(true);
    });
  });
});
