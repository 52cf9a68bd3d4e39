// `npm run bench`, part "refresh": the smallest app a user would write around the library, and in
// it a reference route that does a refresh's work by hand, so that Nest, HTTP and the database
// cancel out of the ratio between the two.
//
//   POST /auth/refresh   the library's refresh route (cookie transport: the refresh cookie, the
//                        CSRF header and Origin), with `loadUser` reading the user by primary key
//                        through TypeORM and no event listeners: getting-started.md's app.
//   POST /raw/refresh    the same work with the session part hand-written, in SQL on the same pool:
//                        read the session row, check the secret's hash and the CSRF token, load the
//                        user with the same loadUser (the app's own cost is the same on both routes),
//                        compare-and-swap the new hash in, sign the access token, and write the same
//                        three cookies.
//                        What it leaves out is what the library adds: rate limits, the grace window,
//                        reuse detection, idle and absolute expiry, events.
//   POST /bench/login    a cookie session for user 1 (no password: logins are not measured here).
//
// Run by bench/refresh-login.mjs as a server (prints "listening on"); needs `nest build sample`
// (the library compiled under dist/apps/sample). Env: DATABASE_URL, JWT_SECRET, SESSION_SECRET, PORT.
import { createRequire } from 'node:module';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const LIB = join(ROOT, 'dist/apps/sample/libs/session/src');
const lib = require(join(LIB, 'index.js'));
const { RESOLVED_SESSION_OPTIONS } = require(join(LIB, 'session.constants.js'));
require('reflect-metadata');
const { Controller, HttpCode, Inject, Module, Post, Req, Res, UnauthorizedException } = require('@nestjs/common');
const { APP_GUARD, NestFactory } = require('@nestjs/core');
const { TypeOrmModule, getDataSourceToken } = require('@nestjs/typeorm');
const { EntitySchema } = require('typeorm');

const USERS = 'bench_minimal_users';
const BenchUser = new EntitySchema({
  name: 'BenchUser',
  tableName: USERS,
  columns: { id: { type: 'int', primary: true }, roles: { type: 'text', array: true } },
});

/** The reference's own signing key: its access tokens are written, never read back. */
const REFERENCE_JWT_KEY = randomBytes(32);

/** Set once the app is up: `loadUser` reads through it, as a UsersService would. */
let users;
/** getting-started.md's loadUser: the user by primary key through TypeORM. */
async function loadUser(id) {
  const user = await users.findOneBy({ id: Number(id) });
  return user ? { id: user.id, roles: user.roles } : null;
}

// ---------------------------------------------------------------- the reference, by hand
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const hmac = (key, text) => createHmac('sha256', key).update(text).digest();
const sameBytes = (a, b) => a.length === b.length && timingSafeEqual(a, b);

/** The value of cookie `name` in a Cookie header, the way a hand-written app reads one. */
function cookieValue(header, name) {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

class RawRefreshController {
  constructor(dataSource, options) {
    this.pool = dataSource.driver.master;
    this.options = options;
  }

  async refresh(req, res) {
    const { cookies, refreshPepper, csrfKey } = this.options;
    const token = cookieValue(req.headers.cookie, cookies.refreshName) ?? '';
    const dot = token.indexOf('.');
    const sessionId = token.slice(0, dot);
    const [nonce, tag] = String(req.headers['x-csrf-token'] ?? '').split('.');
    if (dot !== 36 || !tag || !sameBytes(Buffer.from(hmac(csrfKey, `${sessionId}.${nonce}`).toString('base64url')), Buffer.from(tag))) throw new UnauthorizedException();
    const presented = hmac(refreshPepper, token.slice(dot + 1));
    const { rows } = await this.pool.query({
      name: 'raw_read_session',
      text: 'SELECT user_id, secret_hash FROM auth_sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()',
      values: [sessionId],
    });
    if (!rows[0] || !sameBytes(rows[0].secret_hash, presented)) throw new UnauthorizedException();
    // The app's own work, done as the library's refresh does it: the same loadUser.
    const user = await loadUser(rows[0].user_id);
    if (!user) throw new UnauthorizedException();
    const secret = randomBytes(32).toString('base64url');
    const swapped = await this.pool.query({
      name: 'raw_rotate',
      text: `UPDATE auth_sessions SET previous_hashes = (array_prepend(secret_hash, previous_hashes))[1:32], secret_hash = $3,
                    generation = generation + 1, rotated_at = now(), last_seen_at = now()
              WHERE id = $1 AND secret_hash = $2`,
      values: [sessionId, presented, hmac(refreshPepper, secret)],
    });
    if (swapped.rowCount !== 1) throw new UnauthorizedException();
    const now = Math.floor(Date.now() / 1000);
    const exp = now + 900;
    const claims = { sub: String(user.id), sid: sessionId, roles: user.roles, iat: now, exp, jti: randomBytes(16).toString('base64url') };
    const input = `${b64({ alg: 'HS256', typ: 'at+jwt' })}.${b64(claims)}`;
    const jwt = `${input}.${hmac(REFERENCE_JWT_KEY, input).toString('base64url')}`;
    const csrfNonce = randomBytes(16).toString('base64url');
    const csrfToken = `${csrfNonce}.${hmac(csrfKey, `${sessionId}.${csrfNonce}`).toString('base64url')}`;
    res.setHeader('Cache-Control', 'no-store');
    // The library's three cookies, attribute for attribute (the session's lifetime as Max-Age).
    res.setHeader('Set-Cookie', [
      `${cookies.accessName}=${jwt}; Max-Age=86399; Path=/; SameSite=Lax; HttpOnly; Secure`,
      `${cookies.csrfName}=${csrfToken}; Max-Age=86399; Path=/; SameSite=Strict; Secure`,
      `${cookies.refreshName}=${sessionId}.${secret}; Max-Age=86399; Path=/auth; SameSite=Strict; HttpOnly; Secure`,
    ]);
    return { csrfToken, accessTokenExpiresAt: new Date(exp * 1000).toISOString() };
  }
}

class BenchLoginController {
  constructor(sessionHttp) {
    this.sessionHttp = sessionHttp;
  }

  login(req, res) {
    return this.sessionHttp.login(req, res, { id: 1, roles: [] });
  }
}

/** Decorators applied by hand: this file is plain JavaScript, run without a compiler. */
function route(type, path, method, params, extra = []) {
  const descriptor = Object.getOwnPropertyDescriptor(type.prototype, method);
  Post(method)(type.prototype, method, descriptor);
  HttpCode(200)(type.prototype, method, descriptor);
  lib.Public()(type.prototype, method, descriptor);
  for (const decorate of extra) decorate(type.prototype, method, descriptor);
  params.forEach((param, index) => param(type.prototype, method, index));
  Controller(path)(type);
}
// The reference checks the CSRF token itself, so the app's global CsrfGuard skips it.
route(RawRefreshController, 'raw', 'refresh', [Req(), Res({ passthrough: true })], [lib.SkipCsrf()]);
route(BenchLoginController, 'bench', 'login', [Req(), Res({ passthrough: true })]);
Inject(getDataSourceToken())(RawRefreshController, undefined, 0);
Inject(RESOLVED_SESSION_OPTIONS)(RawRefreshController, undefined, 1);
Inject(lib.SessionHttp)(BenchLoginController, undefined, 0);

class MinimalAppModule {}
Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL,
      entities: [...lib.sessionEntities, BenchUser],
      migrations: lib.sessionMigrations,
      migrationsRun: true,
      logging: false,
      poolSize: 10,
    }),
    lib.SessionModule.forRoot({
      jwtSecret: process.env.JWT_SECRET,
      sessionSecret: process.env.SESSION_SECRET,
      loadUser,
      revocation: { bus: 'none' },
      csrf: { appOrigin: 'https://bench.localhost' },
      cleanup: { enabled: false },
      // Applied on every refresh as in production (the session's spent, the address's read), set high enough that the benchmark never reaches them.
      rateLimits: { refreshPerIp: { limit: 100_000_000, window: '1m' }, refreshPerSession: { limit: 100_000_000, window: '1m' } },
    }),
  ],
  controllers: [RawRefreshController, BenchLoginController],
  providers: [{ provide: APP_GUARD, useExisting: lib.CsrfGuard }],
})(MinimalAppModule);

const app = await NestFactory.create(MinimalAppModule, { logger: ['error', 'warn'] });
const dataSource = app.get(getDataSourceToken());
await dataSource.query(`CREATE TABLE IF NOT EXISTS ${USERS} (id int PRIMARY KEY, roles text[] NOT NULL DEFAULT '{}')`);
await dataSource.query(`INSERT INTO ${USERS} (id, roles) VALUES (1, '{}') ON CONFLICT DO NOTHING`);
users = dataSource.getRepository(BenchUser);
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
console.log(`minimal app listening on ${await app.getUrl()}`);
