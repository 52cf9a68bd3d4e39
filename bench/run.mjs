// `npm run bench`: nest-sessions side by side with what users would pick instead, on the
// PostgreSQL server at DATABASE_URL (default: a fresh `nest_sessions_bench` database on
// 127.0.0.1:5432). Starts every server it needs, shows progress, writes BENCHMARKS.md and
// bench/results.svg. Never part of `npm test`.
//
// Load comes from wrk (Debian package; installed here if missing), one thread, 64 connections,
// from a second process on loopback: written in C, it leaves the CPU to the servers, and it is
// what PERF-FACTS.md's anchors were measured with, so the figures compare. Scenarios run
// interleaved (A B C, A B C, ...) and report medians with min–max; ratios are taken within a
// round (side by side) and then summarised over the rounds.
//
// Noise: on a machine with at least 2 cores, wrk (and this process while it is the HTTP client)
// runs on BENCH_LOAD_CPUS (default CPU 1) and the Node servers on BENCH_SERVER_CPUS (default
// CPU 0), through taskset; PostgreSQL is left unpinned (see BENCHMARKS.md). Each server is warmed
// up before round 1 (BENCH_WARMUP s) and again before each measured run (BENCH_ROUND_WARMUP s).
//
// Knobs (environment):
//   BENCH_ROUNDS=5 BENCH_SECONDS=5 BENCH_CLEANUP_ROUNDS=4   rounds, seconds per run, cleanup rounds
//   BENCH_ONLY=guard,refresh,login,micro,memory,cleanup      run a subset: prints the goals it can
//       judge (the others "not measured"), writes bench/out/results-only.json, leaves BENCHMARKS.md alone
//   BENCH_WARMUP=2 BENCH_ROUND_WARMUP=1                      warm-up seconds (not counted)
//   BENCH_PIN=0                                              no CPU pinning
//   BENCH_SERVER_CPUS=0 BENCH_LOAD_CPUS=1                    taskset CPU lists
//   BENCH_BREAKDOWN_N=200                                    sequential refreshes per round for the HTTP breakdown
//   BENCH_BETTER_AUTH_SESSIONS=200                           distinct better-auth sessions (each sign-in costs a scrypt)
//   BENCH_CACHE_SESSIONS=20000                               sessions for the RSS cache-fill figure (0: skip it)
//   BENCH_CLEANUP_CONFIGS=5000:0.25,1000:0                   cleanup configurations to tune (bench/cleanup.mjs)
//   BENCH_GUARD_MICRO_ARGS, BENCH_MEMORY_ARGS                extra node flags for bench/guard-micro.mjs, bench/memory.mjs
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac, generateKeyPairSync, randomBytes, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { fillEnded, fillLive, runCleanupBench } from './cleanup.mjs';
import { goalsText, judgeGoals } from './goals.mjs';
import { freePort } from '../scripts/free-port.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench', 'out');
const require = createRequire(import.meta.url);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLEANUP_ROUNDS = Number(process.env.BENCH_CLEANUP_ROUNDS ?? 4);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const ROUND_WARMUP = Number(process.env.BENCH_ROUND_WARMUP ?? 1);
const BREAKDOWN_N = Number(process.env.BENCH_BREAKDOWN_N ?? 200);
const BA_SESSIONS = Number(process.env.BENCH_BETTER_AUTH_SESSIONS ?? 200);
const PARTS = ['guard', 'refresh', 'login', 'micro', 'memory', 'cleanup'];
const ONLY = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',').map((p) => p.trim()).filter(Boolean) : null;
for (const part of ONLY ?? []) if (!PARTS.includes(part)) throw new Error(`BENCH_ONLY: unknown part ${part} (known: ${PARTS.join(', ')})`);
const wants = (part) => !ONLY || ONLY.includes(part);
const SERVER_CPUS = process.env.BENCH_SERVER_CPUS ?? '0';
const LOAD_CPUS = process.env.BENCH_LOAD_CPUS ?? '1';
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

// ---------------------------------------------------------------- CPU pinning
/** Whether taskset can pin, and why not when it cannot. */
function pinningPlan() {
  if (process.env.BENCH_PIN === '0') return { enabled: false, note: 'BENCH_PIN=0: unpinned' };
  if (cpus().length < 2) return { enabled: false, note: `unpinned: ${cpus().length} core` };
  const probe = spawnSync('taskset', ['-c', LOAD_CPUS, 'true']);
  const probe2 = spawnSync('taskset', ['-c', SERVER_CPUS, 'true']);
  if (probe.error || probe.status !== 0 || probe2.error || probe2.status !== 0) {
    return { enabled: false, note: `unpinned: taskset unavailable or refused (${probe.error?.message ?? probe.stderr?.toString().trim() ?? probe2.stderr?.toString().trim()})` };
  }
  return { enabled: true, serverCpus: SERVER_CPUS, loadCpus: LOAD_CPUS, note: `taskset: Node servers on CPU ${SERVER_CPUS}, wrk and the Node HTTP client on CPU ${LOAD_CPUS}, PostgreSQL unpinned` };
}
const PIN = pinningPlan();
/** [command, args] run on the given CPUs when pinning is on. */
const pinned = (cmd, args, cpuList) => (PIN.enabled ? ['taskset', ['-c', cpuList, cmd, ...args]] : [cmd, args]);
/** Pins this process (every thread) to cpuList, or back to every core with null. */
function pinSelf(cpuList) {
  if (!PIN.enabled) return;
  const all = `0-${cpus().length - 1}`;
  spawnSync('taskset', ['-a', '-p', '-c', cpuList ?? all, String(process.pid)]);
}

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
  const child = spawn(...pinned(process.execPath, [script], SERVER_CPUS), { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 60_000);
    child.stdout.on('data', (d) => {
      output += d;
      if (output.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on('data', (d) => (output += d));
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${output}`)));
  });
  child.removeAllListeners('exit');
  return { name, url: `http://127.0.0.1:${port}`, pid: child.pid, child, output };
}

function stopServer(server) {
  server?.child.kill('SIGTERM');
}

/**
 * Runs `node [nodeArgs] script` as a child (on the server CPUs when pinned) and parses its last
 * stdout line as JSON. Never throws: a missing script or a failure is { measured: false, error }.
 */
async function runJsonChild(script, nodeArgs, env, timeoutMs = 15 * 60_000) {
  if (!existsSync(script)) return { measured: false, error: `not measured: ${script.slice(ROOT.length + 1)} does not exist` };
  return new Promise((resolve) => {
    const child = spawn(...pinned(process.execPath, [...nodeArgs, script], SERVER_CPUS), { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', (e) => resolve({ measured: false, error: `not measured: ${e.message}` }));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      const tail = (err || out).trim().split('\n').slice(-3).join(' / ').slice(0, 300);
      if (code !== 0) return resolve({ measured: false, error: `not measured: ${script.slice(ROOT.length + 1)} exited with ${code ?? signal}: ${tail}` });
      try {
        resolve({ measured: true, data: JSON.parse(last) });
      } catch {
        resolve({ measured: false, error: `not measured: last line of ${script.slice(ROOT.length + 1)} is not JSON: ${last.slice(0, 200)}` });
      }
    });
  });
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
  const out = execFileSync(...pinned('wrk', ['-t1', '-c64', `-d${seconds}s`, '-s', WRK_SCRIPT, url.origin], LOAD_CPUS), {
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
        entities: lib.sessionEntities,
        logging: false,
        poolSize: 20,
        // Server settings for this context's sessions only (libpq `options`), e.g. `-c wal_compression=lz4`.
        ...(extra.pgOptions ? { extra: { options: extra.pgOptions } } : {}),
      }),
      lib.SessionModule.forRoot({
        ...secrets,
        loadUser: (id) => ({ id, roles: [] }),
        revocation: { bus: 'none' },
        accessTokenTtl: '1h',
        controller: false,
        cleanup: { enabled: false, timeBudget: 600, ...(extra.cleanup ?? {}) },
        // The limits are spent on every rotation as in production (their cost is measured), but
        // set high enough that the benchmark's loop never reaches them.
        rateLimits: { refreshPerIp: { limit: 100_000_000, window: '1m' }, refreshPerSession: { limit: 100_000_000, window: '1m' } },
      }),
    ],
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  return { app, lib };
}

// ---------------------------------------------------------------- peers that may be missing
const BETTER_AUTH_SRC = join(ROOT, 'bench/peers/better-auth.ts');
const BETTER_AUTH_JS = join(ROOT, 'dist/bench/peers/better-auth.js');
/** The better-auth peer's route that makes a session and answers { cookie } (see its header comment). */
const BETTER_AUTH_LOGIN = '/bench/session';
/** Seconds a cookie-cached better-auth session stays valid after revocation: its cookieCache maxAge, as the peer's ready line prints it. */
const DEFAULT_BETTER_AUTH_CACHE_MAX_AGE = 300;

/**
 * Compiles bench/peers. Errors confined to the better-auth peer (e.g. its package not installed
 * yet) only take its rows out, with the reason; any other error stops the bench.
 * @returns {string | null} why better-auth is not measured, or null
 */
function buildPeers() {
  rmSync(BETTER_AUTH_JS, { force: true });
  const res = spawnSync('npx', ['tsc', '-p', 'bench/tsconfig.json'], { cwd: ROOT, encoding: 'utf8' });
  const text = `${res.stdout}${res.stderr}`;
  const errorFiles = [...text.matchAll(/^(\S+?)\(\d+,\d+\): error/gm)].map((m) => m[1]);
  if (res.status !== 0 && (errorFiles.length === 0 || errorFiles.some((f) => !f.includes('better-auth')))) throw new Error(`bench/peers do not compile:\n${text}`);
  if (!existsSync(BETTER_AUTH_SRC)) return 'not measured: bench/peers/better-auth.ts does not exist';
  if (res.status !== 0) return `not measured: bench/peers/better-auth.ts does not compile: ${text.split('\n').find((l) => l.includes('error')) ?? text.slice(0, 200)}`;
  if (!existsSync(BETTER_AUTH_JS)) return 'not measured: dist/bench/peers/better-auth.js was not emitted';
  return null;
}

/** Every `Set-Cookie` of a response as one `Cookie` header value. */
const cookieHeader = (res) => res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');

// ---------------------------------------------------------------- scenarios
async function main() {
  mkdirSync(OUT, { recursive: true });
  if (wants('guard') || wants('memory')) ensureWrk();
  log(`parts: ${(ONLY ?? PARTS).join(', ')}${ONLY ? ' (BENCH_ONLY)' : ''}; ${PIN.note}`);
  const DATABASE_URL = await ensureDatabase();
  log(`database: ${DATABASE_URL.replace(/\/\/[^@]*@/, '//…@')}`);
  log('building the sample app and the peers');
  execFileSync('npx', ['nest', 'build', 'sample'], { cwd: ROOT, stdio: 'inherit' });
  const betterAuthNote = buildPeers();
  if (betterAuthNote) log(`better-auth peer ${betterAuthNote}`);

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
  const results = {
    date: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    rounds: ROUNDS,
    seconds: SECONDS,
    warmup: { first: WARMUP, perRun: ROUND_WARMUP },
    only: ONLY,
    pinning: PIN,
  };

  const strict = await startServer('strict', sampleMain, sampleEnv); // runs the migrations first
  if (wants('memory')) {
    // A fresh instance on the empty table (the migrations already ran), measured like the one
    // on a full table at the end: one second after it listens.
    const empty = await startServer('memory-empty', sampleMain, sampleEnv);
    await sleep(1000);
    results.memory = { emptyMiB: rssMiB(empty.pid) };
    stopServer(empty);
  }
  const email = `bench-${Date.now()}@example.test`;
  const password = 'bench password 0123456789';
  await post(`${strict.url}/auth/register`, { email, password });
  const { app: ctx, lib } = await libraryContext(DATABASE_URL, secrets);
  const sessions = ctx.get(lib.SessionService);
  // 16 live sessions that the raw rotations (refresh scenario, and the load beside each purge) work on.
  const loadIds = await Promise.all(Array.from({ length: 16 }, async (_, i) => (await sessions.issue({ id: `bench-raw-${i}`, roles: [] }, { transport: 'bearer' })).sessionId));

  // ------------------------------------------------------------ 1. Guarded GET
  if (wants('guard')) {
    log('guarded GET: starting servers: nest-sessions (strict without cache, stateless), the NestJS recipe, express-session, better-auth');
    const baStart = (name, env) =>
      betterAuthNote ? Promise.resolve({ error: betterAuthNote }) : startServer(name, BETTER_AUTH_JS, { DATABASE_URL, ...env }).catch((e) => ({ error: `not measured: ${String(e.message).split('\n').slice(0, 3).join(' / ')}` }));
    const [noCache, stateless, recipe, expressSession, betterAuth] = await Promise.all([
      startServer('strict-nocache', sampleMain, { ...sampleEnv, REVOCATION_CACHE_MAX: '0' }),
      startServer('stateless', sampleMain, { ...sampleEnv, SESSION_REVOCATION: 'stateless' }),
      startServer('recipe', join(ROOT, 'dist/bench/peers/recipe.js'), {}),
      startServer('express-session', join(ROOT, 'dist/bench/peers/express-session.js'), { DATABASE_URL }),
      baStart('better-auth', { BETTER_AUTH_COOKIE_CACHE: 'false' }),
    ]);
    // The second better-auth instance after the first, which may have created its tables.
    const betterAuthCache = await baStart('better-auth-cookie-cache', { BETTER_AUTH_COOKIE_CACHE: 'true' });

    log('making 1,000 sessions on each server');
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
    const files = { ns: join(OUT, 'tokens-ns.txt'), recipe: join(OUT, 'tokens-recipe.txt'), es: join(OUT, 'cookies-es.txt') };
    writeFileSync(files.ns, nsTokens.join('\n') + '\n');
    writeFileSync(files.recipe, recipeTokens.join('\n') + '\n');
    writeFileSync(files.es, esCookies.join('\n') + '\n');
    const baCookies = async (server, file) => {
      if (server.error) return server.error;
      try {
        log(`making ${fmt(BA_SESSIONS)} sessions on ${server.name}`);
        const cookies = await pool(BA_SESSIONS, 8, async () => {
          const res = await fetch(`${server.url}${BETTER_AUTH_LOGIN}`, { method: 'POST' });
          const text = await res.text();
          let cookie = cookieHeader(res);
          try {
            cookie = JSON.parse(text).cookie ?? cookie;
          } catch {
            // not JSON: the Set-Cookie headers it is
          }
          if (res.status >= 400 || !cookie) throw new Error(`POST ${BETTER_AUTH_LOGIN}: ${res.status}, cookie ${JSON.stringify(cookie)}`);
          return cookie;
        });
        writeFileSync(file, cookies.join('\n') + '\n');
        return null;
      } catch (e) {
        return `not measured: making sessions failed: ${e.message}`;
      }
    };
    const baFile = join(OUT, 'cookies-better-auth.txt');
    const baCacheFile = join(OUT, 'cookies-better-auth-cache.txt');
    const baErrors = [await baCookies(betterAuth, baFile), await baCookies(betterAuthCache, baCacheFile)];

    const maxAgeSeen = /maxAge=(\d+)s/.exec(betterAuthCache.output ?? '')?.[1];
    const BETTER_AUTH_CACHE_MAX_AGE = maxAgeSeen ? Number(maxAgeSeen) : DEFAULT_BETTER_AUTH_CACHE_MAX_AGE;
    const bearer = (tokens) => ({ tokens, header: 'Authorization', prefix: 'Bearer ' });
    const targets = [
      { key: 'unguarded', name: 'unguarded route (same app)', server: strict, path: '/bench/unguarded', ...bearer(files.ns) },
      { key: 'recipe', name: 'NestJS docs recipe (passport-jwt, string secret)', server: recipe, path: '/whoami', ...bearer(files.recipe) },
      { key: 'stateless', name: 'nest-sessions stateless', server: stateless, path: '/whoami', ...bearer(files.ns) },
      { key: 'strict', name: 'nest-sessions strict + cache', server: strict, path: '/whoami', ...bearer(files.ns) },
      { key: 'nocache', name: 'nest-sessions strict, no cache', server: noCache, path: '/whoami', ...bearer(files.ns) },
      { key: 'express', name: 'express-session + connect-pg-simple', server: expressSession, path: '/whoami', tokens: files.es, header: 'Cookie' },
      { key: 'betterAuth', peer: 'better-auth', name: 'better-auth (session read from Postgres)', server: betterAuth, path: '/whoami', tokens: baFile, header: 'Cookie', error: baErrors[0] },
      {
        key: 'betterAuthCache', peer: 'better-auth', name: `better-auth, cookie cache (revocation seen after up to ${BETTER_AUTH_CACHE_MAX_AGE} s)`,
        server: betterAuthCache, path: '/whoami', tokens: baCacheFile, header: 'Cookie', error: baErrors[1],
      },
    ];
    const live = targets.filter((t) => !t.error);
    const guarded = Object.fromEntries(live.map((t) => [t.key, []]));
    log(`warm-up: ${WARMUP} s per server (not counted), which also checks that every route answers 200`);
    for (const t of live) {
      try {
        wrk(t, Math.max(1, WARMUP));
      } catch (e) {
        if (!t.peer) throw e;
        t.error = `not measured: ${String(e.message).split('\n')[0]}`;
      }
    }
    const measured = live.filter((t) => !t.error);
    pinSelf(LOAD_CPUS);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of measured.filter((m) => !m.error)) {
        try {
          if (ROUND_WARMUP > 0) wrk(t, ROUND_WARMUP);
          const { rps } = wrk(t, SECONDS);
          guarded[t.key].push(rps);
          log(`guarded GET round ${round}/${ROUNDS}: ${t.name}: ${fmt(rps)} req/s`);
        } catch (e) {
          if (!t.peer) throw e;
          t.error = `not measured: failed in round ${round}: ${String(e.message).split('\n')[0]}`;
          delete guarded[t.key];
          log(`${t.name} ${t.error}`);
        }
      }
    }
    pinSelf(null);
    const per = (a, b) => (guarded[a] && guarded[b] ? range(guarded[a].map((x, i) => x / guarded[b][i])) : null);
    results.guard = {
      rows: targets.map((t) =>
        t.error || !guarded[t.key]
          ? { key: t.key, name: t.name, peer: t.peer, note: t.error }
          : { key: t.key, name: t.name, peer: t.peer, rps: range(guarded[t.key]), ratio: per(t.key, 'unguarded'), strictToIt: per('strict', t.key) },
      ),
      ratios: {
        statelessToUnguarded: per('stateless', 'unguarded'),
        strictToUnguarded: per('strict', 'unguarded'),
        strictToStateless: per('strict', 'stateless'),
        strictToExpress: per('strict', 'express'),
      },
      betterAuthCacheMaxAge: BETTER_AUTH_CACHE_MAX_AGE,
      betterAuthSessions: BA_SESSIONS,
    };
    // the chart and the old readers of results.json
    results.guardedRows = results.guard.rows.filter((r) => r.rps);
    for (const s of [noCache, stateless, recipe, expressSession, betterAuth, betterAuthCache]) if (!s.error) stopServer(s);
  }

  // ------------------------------------------------------------ 2. Refresh
  if (wants('refresh')) {
    log('refresh: library rotation vs raw SQL (16 clients), over HTTP (16 clients), and one client one at a time for the breakdown');
    pinSelf(LOAD_CPUS);
    const { Client } = require('pg');
    const runs = { library: [], raw: [], http: [], breakdown: [] };
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
      loadIds.map(async (id) => {
        const client = new Client({ connectionString: DATABASE_URL });
        await client.connect();
        return { client, id };
      }),
    );
    const rawRotate = async ({ client, id }) => {
      await client.query('BEGIN');
      const { rows } = await client.query('SELECT secret_hash, generation FROM auth_sessions WHERE id = $1 FOR UPDATE', [id]);
      const hash = createHmac('sha256', 'pepper').update(randomBytes(32)).digest();
      await client.query('UPDATE auth_sessions SET previous_hashes = (array_prepend(secret_hash, previous_hashes))[1:32], secret_hash = $2, generation = $3 + 1, rotated_at = now() WHERE id = $1', [id, hash, rows[0].generation]);
      await client.query('COMMIT');
    };
    const httpTokens = await pool(16, 4, async () => (await post(`${strict.url}/auth/login`, { email, password }, { 'x-session-transport': 'bearer' })).body.refreshToken);
    const httpRefresh = async (w) => {
      const res = await post(`${strict.url}/auth/refresh`, { refreshToken: httpTokens[w] });
      if (res.status !== 200) throw new Error(`refresh ${res.status}`);
      httpTokens[w] = res.body.refreshToken;
    };
    const libRefresh = async (w) => {
      libTokens[w] = (await sessions.refresh({ token: libTokens[w], via: 'body' })).refreshToken;
    };
    const sequential = async (n, step) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await step(0);
      return (performance.now() - t0) / n;
    };
    // warm-up, not counted: the pools' connections, the JIT, the server's routes
    await runFor(Math.max(1, WARMUP / 2), 16, libRefresh);
    await runFor(Math.max(1, WARMUP / 2), 16, (w) => rawRotate(rawClients[w]));
    await runFor(Math.max(1, WARMUP / 2), 16, httpRefresh);
    for (let round = 1; round <= ROUNDS; round++) {
      const lib1 = await runFor(SECONDS, 16, libRefresh);
      const raw1 = await runFor(SECONDS, 16, (w) => rawRotate(rawClients[w]));
      const http1 = await runFor(SECONDS, 16, httpRefresh);
      const httpMs = await sequential(BREAKDOWN_N, httpRefresh);
      const storeMs = await sequential(BREAKDOWN_N, libRefresh);
      runs.library.push(lib1);
      runs.raw.push(raw1);
      runs.http.push(http1);
      runs.breakdown.push({ httpMs, storeMs });
      log(
        `refresh round ${round}/${ROUNDS}: library ${fmt(lib1.rate)}/s p99 ${fmt(lib1.p99, 1)} ms; raw ${fmt(raw1.rate)}/s p99 ${fmt(raw1.p99, 1)} ms; ` +
          `HTTP ${fmt(http1.rate)}/s p99 ${fmt(http1.p99, 1)} ms; one client: HTTP ${fmt(httpMs, 2)} ms, store ${fmt(storeMs, 2)} ms per refresh`,
      );
    }
    pinSelf(null);
    for (const { client } of rawClients) await client.end();
    const stats = (xs) => ({ rate: range(xs.map((r) => r.rate)), p50: range(xs.map((r) => r.p50)), p99: range(xs.map((r) => r.p99)) });
    results.refresh = {
      library: stats(runs.library),
      raw: stats(runs.raw),
      ratio: range(runs.library.map((r, i) => r.rate / runs.raw[i].rate)),
      p99Ratio: range(runs.library.map((r, i) => r.p99 / runs.raw[i].p99)),
      http: stats(runs.http),
      httpToLibrary: range(runs.http.map((r, i) => r.rate / runs.library[i].rate)),
      breakdown: {
        n: BREAKDOWN_N,
        httpMs: range(runs.breakdown.map((b) => b.httpMs)),
        storeMs: range(runs.breakdown.map((b) => b.storeMs)),
        diffMs: range(runs.breakdown.map((b) => b.httpMs - b.storeMs)),
        diffShare: range(runs.breakdown.map((b) => (b.httpMs - b.storeMs) / b.httpMs)),
      },
    };
  }

  // ------------------------------------------------------------ 3. Login
  if (wants('login')) {
    log('login: POST /auth/login, 16 clients');
    pinSelf(LOAD_CPUS);
    const latencies = [];
    const until = Date.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (Date.now() < until) {
          const t0 = performance.now();
          const res = await post(`${strict.url}/auth/login`, { email, password }, { 'x-session-transport': 'bearer' });
          if (res.status !== 200) throw new Error(`login ${res.status}`);
          latencies.push(performance.now() - t0);
        }
      }),
    );
    pinSelf(null);
    results.login = { rate: latencies.length / SECONDS, p50: pct(latencies, 50), p99: pct(latencies, 99) };
  }

  // ------------------------------------------------------------ 6. Micro
  if (wants('micro')) {
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
    const libToken = (await accessTokens.sign({ id: 'u', roles: [] }, claims.sid, Date.now(), Date.now() + 3_600_000)).token;
    // The library's sign and verify return promises (jose, which signs and verifies EdDSA, is async).
    const perSecond = async (fn) => {
      const until = performance.now() + 1000;
      let n = 0;
      while (performance.now() < until) {
        for (let i = 0; i < 100; i++) {
          const r = fn();
          if (r && typeof r.then === 'function') await r;
        }
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
    for (let round = 0; round < ROUNDS; round++) for (const [name, fn] of Object.entries(microOps)) micro[name].push(await perSecond(fn));
    results.micro = Object.fromEntries(Object.entries(micro).map(([k, v]) => [k, range(v)]));

    log('micro: the guard per path in CPU time, as HS256 verifications (bench/guard-micro.mjs)');
    results.guardMicro = await runJsonChild(join(ROOT, 'bench/guard-micro.mjs'), splitArgs(process.env.BENCH_GUARD_MICRO_ARGS), { DATABASE_URL });
    log(results.guardMicro.measured ? `guard micro: ${JSON.stringify(results.guardMicro.data)}` : `guard micro ${results.guardMicro.error}`);
  }

  // ------------------------------------------------------------ 5. Memory (before the cleanup scenario fills the table)
  if (wants('memory')) {
    log('memory: bytes per cached session after a forced GC (bench/memory.mjs)');
    results.memory.afterGc = await runJsonChild(join(ROOT, 'bench/memory.mjs'), ['--expose-gc', ...splitArgs(process.env.BENCH_MEMORY_ARGS)], {
      DATABASE_URL,
      JWT_SECRET: secrets.jwtSecret,
      SESSION_SECRET: secrets.sessionSecret,
    });
    log(results.memory.afterGc.measured ? `memory: ${JSON.stringify(results.memory.afterGc.data)}` : `memory ${results.memory.afterGc.error}`);
    const memBound = Number(process.env.BENCH_CACHE_SESSIONS ?? 20_000);
    if (memBound > 0) {
      log(`memory: RSS with the caches filled by ${fmt(memBound)} sessions`);
      const memServer = await startServer('memory', sampleMain, { ...sampleEnv, REVOCATION_CACHE_MAX: String(memBound), VERIFIED_TOKEN_CACHE: String(memBound) });
      const memIdle = rssMiB(memServer.pid);
      const manyTokens = await pool(memBound, 16, async (i) => (await sessions.issue({ id: `bench-mem-${i % 1000}`, roles: [] }, { transport: 'bearer' })).accessToken);
      const memFile = join(OUT, 'tokens-memory.txt');
      writeFileSync(memFile, manyTokens.join('\n') + '\n');
      wrk({ name: 'fill caches', server: memServer, path: '/whoami', tokens: memFile, header: 'Authorization', prefix: 'Bearer ' }, Math.max(10, Math.ceil(memBound / 2000)));
      Object.assign(results.memory, { idleMiB: memIdle, cacheFullMiB: rssMiB(memServer.pid), cacheEntries: memBound });
      stopServer(memServer);
    }
  }

  // ------------------------------------------------------------ 4. Cleanup at a million rows (bench/cleanup.mjs)
  if (wants('cleanup')) {
    log('cleanup: 1,000,000 ended rows past retention beside 100,000 live ones');
    results.cleanup = await runCleanupBench({
      DATABASE_URL,
      cleanerContext: (options, pgOptions) => libraryContext(DATABASE_URL, secrets, { cleanup: options, pgOptions }),
      loadIds,
      rounds: CLEANUP_ROUNDS,
      log,
    });
    writeFileSync(join(OUT, 'cleanup.json'), JSON.stringify(results.cleanup, null, 2));
    for (const run of results.cleanup.runs) {
      log(`${run.name}: ${fmt(run.rowsPerSecond.median)} rows/s (${fmt(run.rowsPerSecond.min)}–${fmt(run.rowsPerSecond.max)}), slowest batch ${run.slowestBatchMs} ms, ` +
        `p99 ${fmt(run.idleP99, 2)} → ${fmt(run.duringP99, 2)} ms = ${fmt(run.ratio, 2)}× (rounds ${fmt(run.roundRatios.min, 2)}–${fmt(run.roundRatios.max, 2)})`);
    }
  }

  // ------------------------------------------------------------ 5. Memory: a fresh instance beside 100,000 live sessions
  if (wants('memory')) {
    // State lives in Postgres, so the process should weigh what it weighed on an empty table.
    // The cleanup scenario leaves 100,000 live and 1,000,000 ended rows; without it, make them.
    if (!wants('cleanup')) {
      log('memory: filling the table with 100,000 live and 1,000,000 ended sessions');
      const { Client } = require('pg');
      const admin = new Client({ connectionString: DATABASE_URL });
      await admin.connect();
      await fillLive(admin);
      await fillEnded(admin);
      await admin.end();
    }
    const liveServer = await startServer('with-live-sessions', sampleMain, sampleEnv);
    await sleep(1000);
    results.memory.with100kLiveMiB = rssMiB(liveServer.pid);
    stopServer(liveServer);
  }

  await ctx.close();
  const goals = judgeGoals(results);
  results.goals = goals;
  if (ONLY) {
    writeFileSync(join(OUT, 'results-only.json'), JSON.stringify(results, null, 2));
    log('BENCH_ONLY: wrote bench/out/results-only.json; BENCHMARKS.md left alone');
  } else {
    writeFileSync(join(OUT, 'results.json'), JSON.stringify(results, null, 2));
    const { writeReport } = await import('./report.mjs');
    writeReport(results, ROOT);
    log('wrote BENCHMARKS.md and bench/results.svg');
  }
  console.log(`\nGoals (median over rounds, min–max in brackets; ${PIN.note}):\n${goalsText(goals)}\n`);
  for (const c of children) c.kill('SIGTERM');
  process.exit(0);
}

const splitArgs = (s) => (s ? s.split(/\s+/).filter(Boolean) : []);

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
