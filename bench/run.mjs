// `npm run bench`: nest-sessions side by side with what users would pick instead, on the
// PostgreSQL server at DATABASE_URL (default: a fresh `nest_sessions_bench` database on
// 127.0.0.1:5432). Starts every server it needs, shows progress, writes BENCHMARKS.md and
// bench/results.svg. Never part of `npm test`.
//
// Load comes from wrk (Debian package; installed here if missing), one thread, 64 connections,
// from a second process on loopback: written in C, it leaves the CPU to the servers, and it is
// what PERF-FACTS.md's anchors were measured with, so the figures compare. Scenarios run
// interleaved (A B C, A B C, ...) and report medians with min–max.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac, generateKeyPairSync, randomBytes, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { runCleanupBench } from './cleanup.mjs';
import { freePort } from '../scripts/free-port.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench', 'out');
const require = createRequire(import.meta.url);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLEANUP_ROUNDS = Number(process.env.BENCH_CLEANUP_ROUNDS ?? 4);
const started = Date.now();
const log = (...args) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s]`, ...args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const range = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
const fmt = (n, d = 0) => Number(n).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

const children = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
process.on('SIGINT', () => process.exit(130));

// ---------------------------------------------------------------- prerequisites
function ensureWrk() {
  const probe = spawnSync('wrk', ['-v']);
  if (!probe.error) return;
  log('wrk is missing: installing it from Debian packages');
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-q', 'wrk'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

async function ensureDatabase() {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const { Client } = require('pg');
  const admin = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS nest_sessions_bench WITH (FORCE)');
  await admin.query('CREATE DATABASE nest_sessions_bench');
  await admin.end();
  return 'postgres://postgres@127.0.0.1:5432/nest_sessions_bench';
}


async function startServer(name, script, env) {
  const port = await freePort();
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 60_000);
    child.stdout.on('data', (d) => {
      output += d;
      if (String(d).includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on('data', (d) => (output += d));
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${output}`)));
  });
  child.removeAllListeners('exit');
  return { name, url: `http://127.0.0.1:${port}`, pid: child.pid, child };
}

function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

async function pool(count, concurrency, work) {
  const results = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await work(i);
      }
    }),
  );
  return results;
}

async function post(url, body, headers = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body ?? {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

// ---------------------------------------------------------------- wrk
const WRK_SCRIPT = join(OUT, 'tokens.lua');
writeFileSyncSafe(
  WRK_SCRIPT,
  `local values = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do values[#values + 1] = line end
local header = os.getenv("BENCH_HEADER")
local prefix = os.getenv("BENCH_PREFIX") or ""
local path = os.getenv("BENCH_PATH")
local i = 0
request = function()
  i = i % #values + 1
  return wrk.format("GET", path, { [header] = prefix .. values[i] })
end
`,
);

function writeFileSyncSafe(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

function wrk(target, seconds) {
  const url = new URL(target.path, target.server.url);
  const out = execFileSync('wrk', ['-t1', '-c64', `-d${seconds}s`, '-s', WRK_SCRIPT, url.origin], {
    env: { ...process.env, BENCH_TOKENS: target.tokens, BENCH_HEADER: target.header, BENCH_PREFIX: target.prefix ?? '', BENCH_PATH: url.pathname },
    encoding: 'utf8',
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const bad = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors:.*/.exec(out)?.[0];
  if (!Number.isFinite(rps) || bad > 0) throw new Error(`${target.name}: ${bad} non-2xx responses or no rate:\n${out}`);
  return { rps, errors };
}

// ---------------------------------------------------------------- the library in-process
function loadLibrary() {
  const lib = require(join(ROOT, 'dist/apps/sample/libs/session/src/index.js'));
  const { NestFactory } = require('@nestjs/core');
  const { Module } = require('@nestjs/common');
  const { TypeOrmModule } = require('@nestjs/typeorm');
  return { lib, NestFactory, Module, TypeOrmModule };
}

async function libraryContext(DATABASE_URL, secrets, extra = {}) {
  const { lib, NestFactory, Module, TypeOrmModule } = loadLibrary();
  class BenchModule {}
  Module({
    imports: [
      TypeOrmModule.forRoot({
        type: 'postgres',
        url: DATABASE_URL,
        entities: [lib.SessionEntity],
        logging: false,
        poolSize: 20,
        // Server settings for this context's sessions only (libpq `options`), e.g. `-c wal_compression=lz4`.
        ...(extra.pgOptions ? { extra: { options: extra.pgOptions } } : {}),
      }),
      lib.SessionModule.forRoot({
        ...secrets,
        loadUser: (id) => ({ id, roles: [] }),
        revocationBus: 'none',
        accessTokenTtl: '1h',
        controller: false,
        cleanup: { enabled: false, timeBudget: 600, ...(extra.cleanup ?? {}) },
      }),
    ],
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  return { app, lib };
}

// ---------------------------------------------------------------- scenarios
async function main() {
  mkdirSync(OUT, { recursive: true });
  ensureWrk();
  const DATABASE_URL = await ensureDatabase();
  log(`database: ${DATABASE_URL.replace(/\/\/[^@]*@/, '//…@')}`);
  log('building the sample app and the peers');
  execFileSync('npx', ['nest', 'build', 'sample'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync('npx', ['tsc', '-p', 'bench/tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });

  const secrets = { jwtSecret: randomBytes(32).toString('base64url'), sessionSecret: randomBytes(32).toString('base64url') };
  const sampleMain = join(ROOT, 'dist/apps/sample/apps/sample/src/main.js');
  const sampleEnv = {
    NODE_ENV: 'production',
    DATABASE_URL,
    JWT_SECRET: secrets.jwtSecret,
    SESSION_SECRET: secrets.sessionSecret,
    ACCESS_TOKEN_TTL: '1h',
    LOGIN_RATE_LIMIT: '100000000',
    REGISTER_RATE_LIMIT: '100000000',
    LOGIN_ACCOUNT_RATE_LIMIT: '100000000',
    REGISTER_ACCOUNT_RATE_LIMIT: '100000000',
    REFRESH_RATE_LIMIT: '100000000',
    REFRESH_SESSION_RATE_LIMIT: '100000000',
    SESSION_CLEANUP: 'false',
    BENCH_ROUTES: 'true',
  };

  log('starting servers: nest-sessions (strict+cache, strict without cache, stateless), the NestJS recipe, express-session');
  const strict = await startServer('strict', sampleMain, sampleEnv); // runs the migrations first
  const memoryEmpty = rssMiB(strict.pid);
  const [noCache, stateless, recipe, expressSession] = await Promise.all([
    startServer('strict-nocache', sampleMain, { ...sampleEnv, REVOCATION_CACHE_MAX: '0' }),
    startServer('stateless', sampleMain, { ...sampleEnv, SESSION_REVOCATION: 'stateless' }),
    startServer('recipe', join(ROOT, 'dist/bench/peers/recipe.js'), {}),
    startServer('express-session', join(ROOT, 'dist/bench/peers/express-session.js'), { DATABASE_URL }),
  ]);

  log('making 1,000 sessions on each server');
  const email = `bench-${Date.now()}@example.test`;
  const password = 'bench password 0123456789';
  await post(`${strict.url}/auth/register`, { email, password });
  const nsTokens = await pool(1000, 4, async () => {
    const res = await post(`${strict.url}/auth/login`, { email, password }, { 'x-session-transport': 'bearer' });
    if (res.status !== 200) throw new Error(`login ${res.status}`);
    return res.body.accessToken;
  });
  const recipeTokens = await pool(1000, 8, async () => (await post(`${recipe.url}/login`)).body.accessToken);
  const esCookies = await pool(1000, 8, async () => {
    const res = await post(`${expressSession.url}/login`);
    return /connect\.sid=[^;]+/.exec(res.headers.get('set-cookie'))[0];
  });
  const nsFile = join(OUT, 'tokens-ns.txt');
  const recipeFile = join(OUT, 'tokens-recipe.txt');
  const esFile = join(OUT, 'cookies-es.txt');
  writeFileSync(nsFile, nsTokens.join('\n') + '\n');
  writeFileSync(recipeFile, recipeTokens.join('\n') + '\n');
  writeFileSync(esFile, esCookies.join('\n') + '\n');

  // 1. Guarded GET
  const bearer = (tokens) => ({ tokens, header: 'Authorization', prefix: 'Bearer ' });
  const targets = [
    { name: 'unguarded route (same app)', server: strict, path: '/bench/unguarded', ...bearer(nsFile) },
    { name: 'NestJS docs recipe (passport-jwt, string secret)', server: recipe, path: '/whoami', ...bearer(recipeFile) },
    { name: 'nest-sessions stateless', server: stateless, path: '/whoami', ...bearer(nsFile) },
    { name: 'nest-sessions strict + cache', server: strict, path: '/whoami', ...bearer(nsFile) },
    { name: 'nest-sessions strict, no cache', server: noCache, path: '/whoami', ...bearer(nsFile) },
    { name: 'express-session + connect-pg-simple', server: expressSession, path: '/whoami', tokens: esFile, header: 'Cookie' },
  ];
  const guarded = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (const t of targets) wrk(t, 2); // warm-up, and a check that every route answers 200
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of targets) {
      const { rps } = wrk(t, SECONDS);
      guarded[t.name].push(rps);
      log(`guarded GET round ${round}/${ROUNDS}: ${t.name}: ${fmt(rps)} req/s`);
    }
  }
  const baseline = guarded[targets[0].name];
  const guardedRows = targets.map((t) => {
    const ratios = guarded[t.name].map((rps, i) => rps / baseline[i]);
    return { name: t.name, rps: range(guarded[t.name]), ratio: range(ratios) };
  });

  // 2. Refresh: the library's rotation at the store level against raw SQL, 16 clients each on its own session
  log('refresh: library rotation vs raw SQL, 16 clients');
  const { app: ctx, lib } = await libraryContext(DATABASE_URL, secrets);
  const sessions = ctx.get(lib.SessionService);
  const { Client } = require('pg');
  const refreshRuns = { library: [], raw: [] };
  const runFor = async (seconds, workers, step) => {
    const latencies = [];
    const until = Date.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        while (Date.now() < until) {
          const t0 = performance.now();
          await step(w);
          latencies.push(performance.now() - t0);
        }
      }),
    );
    return { rate: latencies.length / seconds, p50: pct(latencies, 50), p99: pct(latencies, 99) };
  };
  const libTokens = await Promise.all(Array.from({ length: 16 }, (_, i) => sessions.issue({ id: `bench-refresh-${i}`, roles: [] }, { transport: 'bearer' }).then((g) => g.refreshToken)));
  const rawClients = await Promise.all(
    Array.from({ length: 16 }, async (_, i) => {
      const client = new Client({ connectionString: DATABASE_URL });
      await client.connect();
      const grant = await sessions.issue({ id: `bench-raw-${i}`, roles: [] }, { transport: 'bearer' });
      return { client, id: grant.sessionId };
    }),
  );
  const rawRotate = async ({ client, id }) => {
    await client.query('BEGIN');
    const { rows } = await client.query('SELECT secret_hash, generation FROM auth_sessions WHERE id = $1 FOR UPDATE', [id]);
    const hash = createHmac('sha256', 'pepper').update(randomBytes(32)).digest();
    await client.query('UPDATE auth_sessions SET previous_hashes = (array_prepend(secret_hash, previous_hashes))[1:32], secret_hash = $2, generation = $3 + 1, rotated_at = now() WHERE id = $1', [id, hash, rows[0].generation]);
    await client.query('COMMIT');
  };
  for (let round = 1; round <= ROUNDS; round++) {
    const libRun = await runFor(SECONDS, 16, async (w) => {
      libTokens[w] = (await sessions.refresh({ token: libTokens[w], via: 'body' })).refreshToken;
    });
    refreshRuns.library.push(libRun);
    const rawRun = await runFor(SECONDS, 16, (w) => rawRotate(rawClients[w]));
    refreshRuns.raw.push(rawRun);
    log(`refresh round ${round}: library ${fmt(libRun.rate)}/s p99 ${fmt(libRun.p99, 1)} ms; raw ${fmt(rawRun.rate)}/s p99 ${fmt(rawRun.p99, 1)} ms`);
  }
  log('refresh over HTTP (POST /auth/refresh, bearer), 16 clients');
  const httpTokens = await pool(16, 4, async () => (await post(`${strict.url}/auth/login`, { email, password }, { 'x-session-transport': 'bearer' })).body.refreshToken);
  const httpRefresh = await runFor(SECONDS, 16, async (w) => {
    const res = await post(`${strict.url}/auth/refresh`, { refreshToken: httpTokens[w] });
    if (res.status !== 200) throw new Error(`refresh ${res.status}`);
    httpTokens[w] = res.body.refreshToken;
  });

  // 3. Login
  log('login: POST /auth/login, 16 clients');
  const login = await runFor(SECONDS, 16, async () => {
    const res = await post(`${strict.url}/auth/login`, { email, password }, { 'x-session-transport': 'bearer' });
    if (res.status !== 200) throw new Error(`login ${res.status}`);
  });

  // 6. Micro: sign and verify per second, the library's path against raw node:crypto
  log('micro: HS256 and ES256 sign/verify');
  const { AccessTokenService } = require(join(ROOT, 'dist/apps/sample/libs/session/src/tokens/access-token.js'));
  const accessTokens = ctx.get(AccessTokenService);
  const hsKey = randomBytes(32);
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const claims = { iss: 'nest-sessions', aud: 'nest-sessions', sub: 'u', sid: '3b241101-e2bb-4255-8caf-4136c566a962', jti: 'j', iat: 1, exp: 2, roles: [] };
  const hsInput = `${b64({ alg: 'HS256', typ: 'at+jwt' })}.${b64(claims)}`;
  const hsToken = `${hsInput}.${createHmac('sha256', hsKey).update(hsInput).digest('base64url')}`;
  const esInput = `${b64({ alg: 'ES256', typ: 'at+jwt' })}.${b64(claims)}`;
  const esSig = cryptoSign('sha256', Buffer.from(esInput), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
  const libToken = accessTokens.sign({ id: 'u', roles: [] }, claims.sid, Date.now(), Date.now() + 3_600_000).token;
  const perSecond = (fn) => {
    const until = performance.now() + 1000;
    let n = 0;
    while (performance.now() < until) {
      for (let i = 0; i < 100; i++) fn();
      n += 100;
    }
    return n;
  };
  const microOps = {
    'HS256 sign, library (AccessTokenService.sign)': () => accessTokens.sign({ id: 'u', roles: [] }, claims.sid, Date.now(), Date.now() + 3_600_000),
    'HS256 sign, raw node:crypto': () => `${hsInput}.${createHmac('sha256', hsKey).update(hsInput).digest('base64url')}`,
    'HS256 verify, library (AccessTokenService.verify)': () => accessTokens.verify(libToken, Date.now()),
    'HS256 verify, raw node:crypto (HMAC + JSON parse)': () => {
      const [h, p, s] = hsToken.split('.');
      createHmac('sha256', hsKey).update(`${h}.${p}`).digest('base64url') === s && JSON.parse(Buffer.from(p, 'base64url').toString());
    },
    'ES256 sign, raw node:crypto': () => cryptoSign('sha256', Buffer.from(esInput), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }),
    'ES256 verify, raw node:crypto': () => cryptoVerify('sha256', Buffer.from(esInput), { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, esSig),
  };
  const micro = Object.fromEntries(Object.keys(microOps).map((k) => [k, []]));
  for (let round = 0; round < ROUNDS; round++) for (const [name, fn] of Object.entries(microOps)) micro[name].push(perSecond(fn));

  // 5. Memory (before the cleanup scenario fills the table)
  log('memory: RSS with the cache at its bound');
  const memBound = Number(process.env.BENCH_CACHE_SESSIONS ?? 20_000);
  const memServer = await startServer('memory', sampleMain, { ...sampleEnv, REVOCATION_CACHE_MAX: String(memBound), VERIFIED_TOKEN_CACHE: String(memBound) });
  const memIdle = rssMiB(memServer.pid);
  const manyTokens = await pool(memBound, 16, async (i) => (await sessions.issue({ id: `bench-mem-${i % 1000}`, roles: [] }, { transport: 'bearer' })).accessToken);
  const memFile = join(OUT, 'tokens-memory.txt');
  writeFileSync(memFile, manyTokens.join('\n') + '\n');
  wrk({ name: 'fill caches', server: memServer, path: '/whoami', ...bearer(memFile) }, Math.max(10, Math.ceil(memBound / 2000)));
  const memFull = rssMiB(memServer.pid);

  // 4. Cleanup at a million rows (bench/cleanup.mjs)
  log('cleanup: 1,000,000 ended rows past retention beside 100,000 live ones');
  const cleanup = await runCleanupBench({
    DATABASE_URL,
    cleanerContext: (options, pgOptions) => libraryContext(DATABASE_URL, secrets, { cleanup: options, pgOptions }),
    loadIds: rawClients.map((c) => c.id),
    rounds: CLEANUP_ROUNDS,
    log,
  });
  // A fresh instance with 100,000 live sessions (and a million ended ones) in the table: state
  // lives in Postgres, so the process should weigh what it weighed on an empty table.
  const liveServer = await startServer('with-live-sessions', sampleMain, sampleEnv);
  await sleep(1000);
  const withLive = rssMiB(liveServer.pid);

  for (const { client } of rawClients) await client.end();
  await ctx.close();

  const results = {
    date: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    rounds: ROUNDS,
    seconds: SECONDS,
    guardedRows,
    refresh: {
      library: { rate: range(refreshRuns.library.map((r) => r.rate)), p50: range(refreshRuns.library.map((r) => r.p50)), p99: range(refreshRuns.library.map((r) => r.p99)) },
      raw: { rate: range(refreshRuns.raw.map((r) => r.rate)), p50: range(refreshRuns.raw.map((r) => r.p50)), p99: range(refreshRuns.raw.map((r) => r.p99)) },
      ratio: range(refreshRuns.library.map((r, i) => r.rate / refreshRuns.raw[i].rate)),
      http: httpRefresh,
    },
    login,
    micro: Object.fromEntries(Object.entries(micro).map(([k, v]) => [k, range(v)])),
    memory: { emptyMiB: memoryEmpty, idleMiB: memIdle, cacheFullMiB: memFull, cacheEntries: memBound, with100kLiveMiB: withLive },
    cleanup,
  };
  writeFileSync(join(OUT, 'results.json'), JSON.stringify(results, null, 2));
  const { writeReport } = await import('./report.mjs');
  writeReport(results, ROOT);
  log('wrote BENCHMARKS.md and bench/results.svg');
  for (const c of children) c.kill('SIGTERM');
  process.exit(0);
}

/**
 * `BENCH_ONLY=cleanup npm run bench`: scenario 4 alone, for tuning the purge. Writes
 * bench/out/cleanup.json and prints the figures; BENCHMARKS.md is left alone.
 */
async function cleanupOnly() {
  mkdirSync(OUT, { recursive: true });
  const DATABASE_URL = await ensureDatabase();
  execFileSync('npx', ['nest', 'build', 'sample'], { cwd: ROOT, stdio: 'inherit' });
  const secrets = { jwtSecret: randomBytes(32).toString('base64url'), sessionSecret: randomBytes(32).toString('base64url') };
  const migrated = await startServer('migrations', join(ROOT, 'dist/apps/sample/apps/sample/src/main.js'), {
    NODE_ENV: 'production', DATABASE_URL, ...{ JWT_SECRET: secrets.jwtSecret, SESSION_SECRET: secrets.sessionSecret }, SESSION_CLEANUP: 'false',
  });
  migrated.child.kill('SIGTERM');
  const { app: ctx, lib } = await libraryContext(DATABASE_URL, secrets);
  const sessions = ctx.get(lib.SessionService);
  const loadIds = await Promise.all(Array.from({ length: 16 }, async (_, i) => (await sessions.issue({ id: `bench-raw-${i}`, roles: [] }, { transport: 'bearer' })).sessionId));
  await ctx.close();
  const cleanup = await runCleanupBench({
    DATABASE_URL,
    cleanerContext: (options, pgOptions) => libraryContext(DATABASE_URL, secrets, { cleanup: options, pgOptions }),
    loadIds,
    rounds: CLEANUP_ROUNDS,
    log,
  });
  writeFileSync(join(OUT, 'cleanup.json'), JSON.stringify(cleanup, null, 2));
  for (const run of cleanup.runs) {
    log(`${run.name}: ${fmt(run.rowsPerSecond.median)} rows/s (${fmt(run.rowsPerSecond.min)}–${fmt(run.rowsPerSecond.max)}), slowest batch ${run.slowestBatchMs} ms, ` +
      `p99 ${fmt(run.idleP99, 2)} → ${fmt(run.duringP99, 2)} ms = ${fmt(run.ratio, 2)}× (rounds ${fmt(run.roundRatios.min, 2)}–${fmt(run.roundRatios.max, 2)})`);
  }
  process.exit(0);
}

(process.env.BENCH_ONLY === 'cleanup' ? cleanupOnly() : main()).catch((error) => {
  console.error(error);
  process.exit(1);
});
