// Guard microbenchmark: CPU time per guarded request inside one process, no network.
//
//   node bench/guard-micro.mjs            (heavy: `nice -n 19 node bench/guard-micro.mjs` on shared cores)
//
// Needs nothing built beforehand: it compiles libs/session/src with @swc/core (the compiler the
// tests use; same decorator settings) into dist/bench-lib/ (about a second), so it always measures
// the working tree and never races a concurrent `nest build` (which empties dist/apps/sample).
// Database: the PostgreSQL server at DATABASE_URL; without it, a database of its own
// (`nest_sessions_guard_bench`) on postgres://postgres@127.0.0.1:5432, recreated on each run; if no
// server answers there, the embedded engine (scripts/embedded-postgres.mjs). The database is only
// used to issue the sessions and warm strict mode's liveness cache: the measured paths do no I/O.
//
// What it measures, interleaved in each round (BENCH_GUARD_ROUNDS, default 7):
//   hs256            a raw HS256 verification with node:crypto: createHmac over `header.payload`,
//                    timingSafeEqual with the decoded signature, JSON.parse of the decoded payload.
//                    The unit every other figure is expressed in.
//   stateless-*      SessionGuard.canActivate, revocation 'stateless', token in the verified-token
//   strict-*         cache; strict: the liveness cache vouching for the session (warm, re-warmed
//                    before every round so no entry nears its TTL). `cookie`: the access cookie
//                    (beside the CSRF cookie, as a browser sends them); `bearer`: Authorization.
//   miss-bearer      a cache miss: verifiedTokenCacheSize 0, stateless, so every call goes through
//                    passport-jwt / jsonwebtoken (awaited). Reported, no goal.
// over BENCH_GUARD_TOKENS (default 1,000) distinct valid tokens issued through SessionService.issue.
// Each call (BENCH_GUARD_CALLS per round, default 100,000) gets what a real request brings: its
// own ExecutionContext, an Express-shaped request (node's IncomingMessage on Express's prototype)
// and header strings made anew, as the HTTP parser makes them (no string hash left over from an
// earlier call). They are made untimed, 1,000 at a time just before the timed loop over them, so
// they are young objects as a server's requests are; a figure is the guard's own CPU time, the
// garbage it leaves included (GC threads count: CPU time is the whole process's). CPU time is process.cpuUsage (user + system) over each timed loop,
// divided by the calls; wall time is printed beside it.
//
// Output: human-readable lines, then as the LAST line one JSON object:
//   {"hs256VerifyNs":{"median","min","max"},"paths":{"<path>":{"ns":{...},"units":{...}},...},
//    "breakdown":{"steps":[{"name","ns":{...}},...]}}
// where `units` is, per round, the path's CPU ns divided by the same round's hs256 ns, and the
// breakdown takes the stateless bearer path apart step by step (see `breakdown`).
import { createRequire } from 'node:module';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { bearerContext, cookieContext, contextFor, fresh } from './guard-requests.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LIB_SRC = join(ROOT, 'libs', 'session', 'src');
export const LIB_OUT = join(ROOT, 'dist', 'bench-lib');
const require = createRequire(import.meta.url);

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const range = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
const round2 = (r, d = 1) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v.toFixed(d))]));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- build
/** Compiles a libs/session/src tree (spec files left out) to CommonJS under `out`. */
export function compileLibrary(src, out) {
  const swc = require('@swc/core');
  rmSync(out, { recursive: true, force: true });
  const walk = (dir) =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
    });
  for (const file of walk(src)) {
    const { code } = swc.transformFileSync(file, {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
        keepClassNames: true,
      },
      module: { type: 'commonjs' },
      sourceMaps: false,
      swcrc: false,
      configFile: false,
    });
    const target = join(out, relative(src, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, code);
  }
}

/** Compiles the library (spec files left out) to CommonJS under dist/bench-lib; returns its index. */
export function buildLibrary() {
  compileLibrary(LIB_SRC, LIB_OUT);
  return require(join(LIB_OUT, 'index.js'));
}

// ---------------------------------------------------------------- database
/** DATABASE_URL, else a fresh database of our own on the local server, else the embedded engine. */
export async function openDatabase(name) {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} };
  const { Client } = require('pg');
  const admin = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres', connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch {
    const { startEmbeddedPostgres } = await import(pathToFileURL(join(ROOT, 'scripts', 'embedded-postgres.mjs')).href);
    const engine = await startEmbeddedPostgres();
    return { url: engine.url, stop: () => engine.stop(), embedded: true };
  }
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    stop: async () => {
      const a = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await a.end();
    },
  };
}

// ---------------------------------------------------------------- app contexts
export const SECRETS = { jwtSecret: randomBytes(32), sessionSecret: randomBytes(32) };

/**
 * A Nest application context with SessionModule as an app would configure it (plus `extra`), on
 * the database at `url`. Returns the context, its SessionGuard, SessionService and options.
 */
export async function createSessionContext(lib, url, extra = {}, { embedded = false } = {}) {
  require('reflect-metadata');
  const { Module } = require('@nestjs/common');
  const { NestFactory } = require('@nestjs/core');
  const { TypeOrmModule } = require('@nestjs/typeorm');
  const database = TypeOrmModule.forRoot({
    type: 'postgres',
    url,
    entities: lib.sessionEntities,
    migrations: lib.sessionMigrations,
    migrationsRun: true,
    logging: false,
    poolSize: embedded ? 1 : 8,
  });
  const session = lib.SessionModule.forRoot({
    ...SECRETS,
    loadUser: (id) => ({ id, roles: ['reader'] }),
    revocation: { bus: 'none' },
    // Longer than any run: on a slow, shared host the rounds have taken over ten minutes, and a
    // token that expires mid-run fails the measurement (ACCESS_TOKEN_EXPIRED).
    accessTokenTtl: '1h',
    auditLog: false,
    cleanup: { enabled: false },
    rateLimits: { store: 'memory' },
    controller: false,
    ...extra,
    revocation: { bus: 'none', ...extra.revocation },
  });
  class BenchModule {}
  Module({ imports: [database, session] })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false, abortOnError: false });
  await app.init();
  return {
    app,
    guard: app.get(lib.SessionGuard),
    sessions: app.get(lib.SessionService),
    options: app.get(require(join(LIB_OUT, 'session.constants.js')).RESOLVED_SESSION_OPTIONS),
  };
}

/** Issues `n` sessions (bearer transport), `concurrency` at a time; returns their access tokens. */
export async function issueTokens(sessions, n, concurrency = 8, startAt = 0) {
  const tokens = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const grant = await sessions.issue({ id: `user-${startAt + i}`, roles: ['reader'] }, { transport: 'bearer' });
      tokens[i] = grant.accessToken;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return tokens;
}

export { bearerContext, cookieContext, fresh, httpContext } from './guard-requests.mjs';

/** Runs every context through the guard once, awaiting the slow path: fills both caches. */
export async function passAll(guard, contexts) {
  for (const ctx of contexts) {
    const result = guard.canActivate(ctx);
    if (result !== true && (await result) !== true) throw new Error('the guard refused a valid token');
  }
}

// ---------------------------------------------------------------- raw HS256
/** A raw HS256 verification of a compact JWS: HMAC, constant-time compare, payload parsed. */
export function rawHs256Verify(token, key) {
  const dot1 = token.indexOf('.');
  const dot2 = token.lastIndexOf('.');
  const mac = createHmac('sha256', key).update(token.slice(0, dot2)).digest();
  const signature = Buffer.from(token.slice(dot2 + 1), 'base64url');
  if (signature.length !== mac.length || !timingSafeEqual(mac, signature)) throw new Error('bad signature');
  return JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString('utf8'));
}

// ---------------------------------------------------------------- timing
/**
 * CPU and wall nanoseconds per call of `step(input)` over `calls` inputs from `make(i)`. The inputs
 * are made untimed, a batch at a time, so they are young objects when the step sees them, as a
 * server's request is, and the timed loops hold the step's own work and garbage only.
 */
async function timeCalls(calls, make, step, batch = 1_000) {
  let cpuUs = 0;
  let wallNs = 0n;
  const items = new Array(batch);
  for (let done = 0; done < calls; done += batch) {
    for (let j = 0; j < batch; j++) items[j] = make(done + j);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let j = 0; j < batch; j++) {
      const r = step(items[j]);
      if (r !== true && r !== 1) await r;
    }
    wallNs += process.hrtime.bigint() - t0;
    const cpu = process.cpuUsage(cpu0);
    cpuUs += cpu.user + cpu.system;
  }
  const n = Math.ceil(calls / batch) * batch;
  return { cpuNs: (cpuUs * 1000) / n, wallNs: Number(wallNs) / n };
}

// ---------------------------------------------------------------- where the cached path's time goes
export const HARNESS_STEP = 'the harness alone (a young request, nothing done)';
export const REQ_USER_STEP = '+ req.user (a new property of the request)';

/**
 * The stateless cached path (bearer) taken apart on the same young Express-shaped requests: each
 * step adds one piece of what the guard does, so the difference between two steps is that
 * piece's CPU time. Returns { steps: [{ name, ns }] } with cumulative ns per request.
 */
async function breakdown({ guard, options }, tokens, rounds, calls, log) {
  const { findAccessToken } = require(join(LIB_OUT, 'http/access-token-source.js'));
  const { authenticatedFrom } = require(join(LIB_OUT, 'authenticated-session.js'));
  const { setRequestSession } = require(join(LIB_OUT, 'http/request-session.js'));
  // The guard's own verified-token cache, filled by the runs above (private: reached for measurement only).
  const cache = guard.verified;
  const name = options.cookies.accessName;
  const requestOf = (c) => c.switchToHttp().getRequest();
  const make = (i) => requestOf(bearerContext(tokens[i % tokens.length]));
  const steps = [
    // The harness's own cost per call: a young request handed over (its garbage collected as the loop allocates).
    [HARNESS_STEP, (req) => (req.headers ? 1 : 0)],
    ['+ find the token (Authorization, cookie)', (req) => (findAccessToken(req, name) ? 1 : 0)],
    ['+ look it up in the verified-token cache', (req) => (cache.get(findAccessToken(req, name).token) ? 1 : 0)],
    ['+ the user and session objects', (req) => (authenticatedFrom(cache.get(findAccessToken(req, name).token), 'bearer') ? 1 : 0)],
    [REQ_USER_STEP, (req) => {
      req.user = authenticatedFrom(cache.get(findAccessToken(req, name).token), 'bearer').user;
      return 1;
    }],
    ['+ the session (WeakMap)', (req) => {
      const { user, session } = authenticatedFrom(cache.get(findAccessToken(req, name).token), 'bearer');
      req.user = user;
      setRequestSession(req, session);
      return 1;
    }],
    ['the whole guard (canActivate: @Public() check, request, expiry)', (req) => guard.canActivate(contextFor(req))],
  ];
  for (const [, step] of steps) await timeCalls(Math.min(calls, 20_000), make, step);
  const ns = steps.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < steps.length; k++) ns[k].push((await timeCalls(calls, make, steps[k][1])).cpuNs);
  }
  const out = { steps: steps.map(([label], k) => ({ name: label, ns: round2(range(ns[k])) })) };
  for (const step of out.steps) log(`breakdown: ${step.name}: ${step.ns.median.toFixed(0)} ns CPU (min ${step.ns.min.toFixed(0)}, max ${step.ns.max.toFixed(0)})`);
  return out;
}

// ---------------------------------------------------------------- main
async function main() {
  const ROUNDS = Number(process.env.BENCH_GUARD_ROUNDS ?? 7);
  const TOKENS = Number(process.env.BENCH_GUARD_TOKENS ?? 1000);
  const CALLS = Number(process.env.BENCH_GUARD_CALLS ?? 100_000);
  const MISS_CALLS = Number(process.env.BENCH_GUARD_MISS_CALLS ?? 20_000);
  const log = (...a) => console.log('[guard-micro]', ...a);

  const lib = buildLibrary();
  log(`library compiled to ${relative(ROOT, LIB_OUT)}/`);
  const db = await openDatabase('nest_sessions_guard_bench');
  log(`database: ${db.embedded ? 'embedded engine' : db.url.replace(/\/\/[^@]*@/, '//')}`);
  // A 60 s liveness TTL (the maximum) and a re-warm before each round: every strict call measured
  // is answered by the cache, none by a background revalidation.
  const strict = await createSessionContext(lib, db.url, { revocation: { mode: 'strict', cache: { ttl: '60s' } } }, db);
  const stateless = await createSessionContext(lib, db.url, { revocation: { mode: 'stateless' } }, db);
  const miss = await createSessionContext(lib, db.url, { revocation: { mode: 'stateless' }, verifiedTokenCacheSize: 0 }, db);
  const tokens = await issueTokens(strict.sessions, TOKENS, db.embedded ? 1 : 8);
  const n = tokens.length;
  log(`${TOKENS} sessions issued; token length ${tokens[0].length} characters`);

  // What each call is given, as a server makes it per request (see timeCalls).
  const key = SECRETS.jwtSecret;
  const build = {
    cookie: (i) => cookieContext(stateless.options, tokens[i % n]),
    bearer: (i) => bearerContext(tokens[i % n]),
    token: (i) => fresh(tokens[i % n]),
  };
  const guards = { 'stateless-cookie': stateless.guard, 'stateless-bearer': stateless.guard, 'strict-cookie': strict.guard, 'strict-bearer': strict.guard };
  const inputOf = (path) => (path === 'hs256' ? 'token' : path.endsWith('cookie') ? 'cookie' : 'bearer');

  // Correctness first: every cached path must answer synchronously with `true`, and the handler
  // must get the user and the session.
  for (const [name, guard] of Object.entries(guards)) {
    const contexts = Array.from({ length: n }, (_, i) => build[inputOf(name)](i));
    await passAll(guard, contexts);
    for (const c of contexts) {
      if (guard.canActivate(c) !== true) throw new Error(`${name}: the cached path is not synchronous`);
      const req = c.switchToHttp().getRequest();
      if (!req.user || !req.user.id) throw new Error(`${name}: no req.user`);
    }
  }
  for (const t of tokens) rawHs256Verify(fresh(t), key);
  const strictWarm = Array.from({ length: n }, (_, i) => build.bearer(i));

  const sink = { n: 0 };
  const paths = ['hs256', ...Object.keys(guards), 'miss-bearer'];
  const steps = { hs256: (t) => ((sink.n += rawHs256Verify(t, key).exp & 1), 1) };
  for (const [name, guard] of Object.entries(guards)) steps[name] = (c) => guard.canActivate(c);
  steps['miss-bearer'] = (c) => miss.guard.canActivate(c);
  const callsOf = (p) => (p === 'miss-bearer' ? MISS_CALLS : CALLS);

  // Warm-up: JIT every path.
  for (const p of paths) await timeCalls(Math.min(callsOf(p), 20_000), build[inputOf(p)], steps[p]);

  const results = Object.fromEntries(paths.map((p) => [p, { cpu: [], wall: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    await passAll(strict.guard, strictWarm); // re-warm: no liveness entry near its TTL
    await sleep(20);
    for (const p of paths) {
      const r = await timeCalls(callsOf(p), build[inputOf(p)], steps[p]);
      results[p].cpu.push(r.cpuNs);
      results[p].wall.push(r.wallNs);
    }
    log(`round ${round + 1}/${ROUNDS}: ` + paths.map((p) => `${p} ${results[p].cpu.at(-1).toFixed(0)} ns`).join(', '));
  }

  const hs = results.hs256.cpu;
  const out = { hs256VerifyNs: round2(range(hs)), paths: {} };
  log('');
  log(`raw HS256 verification: ${out.hs256VerifyNs.median} ns CPU (min ${out.hs256VerifyNs.min}, max ${out.hs256VerifyNs.max}); wall ${median(results.hs256.wall).toFixed(0)} ns`);
  for (const p of paths.slice(1)) {
    const units = results[p].cpu.map((ns, i) => ns / hs[i]);
    out.paths[p] = { ns: round2(range(results[p].cpu)), units: round2(range(units), 3) };
    const u = out.paths[p].units;
    log(
      `${p.padEnd(17)} ${out.paths[p].ns.median.toFixed(0).padStart(6)} ns CPU (wall ${median(results[p].wall).toFixed(0)} ns) = ` +
        `${u.median.toFixed(3)} HS256 verifications (min ${u.min.toFixed(3)}, max ${u.max.toFixed(3)})` +
        (p.startsWith('miss') ? '' : u.median < 1 ? '  goal < 1: met' : '  goal < 1: NOT met'),
    );
  }
  if (sink.n === 0) log('(sink)');

  out.breakdown = await breakdown(stateless, tokens, ROUNDS, CALLS, log);
  // The guard's own work on the stateless path: the whole guard less what the harness costs with
  // no guard at all and less the new req.user (V8 copying an Express request's hidden class).
  const at = (name) => out.breakdown.steps.findIndex((step) => step.name === name);
  const ms = out.breakdown.steps.map((step) => step.ns.median);
  const ownNs = ms.at(-1) - ms[at(HARNESS_STEP)] - (ms[at(REQ_USER_STEP)] - ms[at(REQ_USER_STEP) - 1]);
  out.breakdown.own = { ns: Math.round(ownNs), units: Number((ownNs / out.hs256VerifyNs.median).toFixed(3)) };
  log(`the guard's own work (less the harness and req.user): ${out.breakdown.own.ns} ns = ${out.breakdown.own.units} HS256 verifications`);

  await Promise.all([strict.app.close(), stateless.app.close(), miss.app.close()]);
  await db.stop();
  console.log(JSON.stringify(out));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
