// What every part of `npm run bench` (run.mjs) shares: the knobs, the statistics, CPU pinning,
// starting and stopping servers, wrk, and the library in-process. The knobs are documented in
// run.mjs's header.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../scripts/free-port.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT = join(ROOT, 'bench', 'out');
export const require = createRequire(import.meta.url);
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
export const CLEANUP_ROUNDS = Number(process.env.BENCH_CLEANUP_ROUNDS ?? 4);
export const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
export const ROUND_WARMUP = Number(process.env.BENCH_ROUND_WARMUP ?? 1);
export const BREAKDOWN_N = Number(process.env.BENCH_BREAKDOWN_N ?? 200);
export const BA_SESSIONS = Number(process.env.BENCH_BETTER_AUTH_SESSIONS ?? 200);
export const PARTS = ['guard', 'refresh', 'login', 'micro', 'bound', 'telemetry', 'memory', 'cleanup', 'scale'];
export const ONLY = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',').map((p) => p.trim()).filter(Boolean) : null;
for (const part of ONLY ?? []) if (!PARTS.includes(part)) throw new Error(`BENCH_ONLY: unknown part ${part} (known: ${PARTS.join(', ')})`);
export const wants = (part) => !ONLY || ONLY.includes(part);
const SERVER_CPUS = process.env.BENCH_SERVER_CPUS ?? '0';
export const LOAD_CPUS = process.env.BENCH_LOAD_CPUS ?? '1';
export const started = Date.now();
export const log = (...args) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s]`, ...args);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
export const range = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
export const fmt = (n, d = 0) => Number(n).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

export const children = [];
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
export const PIN = pinningPlan();
/** [command, args] run on the given CPUs when pinning is on. */
const pinned = (cmd, args, cpuList) => (PIN.enabled ? ['taskset', ['-c', cpuList, cmd, ...args]] : [cmd, args]);
/** Pins this process (every thread) to cpuList, or back to every core with null. */
export function pinSelf(cpuList) {
  if (!PIN.enabled) return;
  const all = `0-${cpus().length - 1}`;
  spawnSync('taskset', ['-a', '-p', '-c', cpuList ?? all, String(process.pid)]);
}


// ---------------------------------------------------------------- prerequisites
export function ensureWrk() {
  const probe = spawnSync('wrk', ['-v']);
  if (!probe.error) return;
  log('wrk is missing: installing it from Debian packages');
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-q', 'wrk'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

export async function ensureDatabase() {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const { Client } = require('pg');
  const admin = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS nest_sessions_bench WITH (FORCE)');
  await admin.query('CREATE DATABASE nest_sessions_bench');
  await admin.end();
  return 'postgres://postgres@127.0.0.1:5432/nest_sessions_bench';
}


/**
 * The server's version and the settings that move the figures: with autovacuum off (as on this
 * machine kind's CI server), dead row versions of the hot tables are only reclaimed by the
 * parts' own VACUUMs and by page pruning, which a reader comparing runs needs to know.
 */
export async function serverSettings(DATABASE_URL) {
  const { Client } = require('pg');
  const client = new Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT current_setting('server_version') AS version, current_setting('autovacuum') AS autovacuum, current_setting('fsync') AS fsync,
              current_setting('synchronous_commit') AS "synchronousCommit", current_setting('shared_buffers') AS "sharedBuffers"`,
    );
    return rows[0];
  } finally {
    await client.end();
  }
}

export async function startServer(name, script, env) {
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

export function stopServer(server) {
  server?.child.kill('SIGTERM');
}

/**
 * Runs `node [nodeArgs] script` as a child (on the server CPUs when pinned) and parses its last
 * stdout line as JSON. Never throws: a missing script or a failure is { measured: false, error }.
 */
export async function runJsonChild(script, nodeArgs, env, timeoutMs = 15 * 60_000) {
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

export function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

export async function pool(count, concurrency, work) {
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

export async function post(url, body, headers = {}) {
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

export function wrk(target, seconds) {
  const url = new URL(target.path, target.server.url);
  const out = execFileSync(...pinned('wrk', ['-t1', `-c${target.connections ?? 64}`, `-d${seconds}s`, '--latency', '-s', target.script ?? WRK_SCRIPT, url.origin], LOAD_CPUS), {
    env: { ...process.env, BENCH_TOKENS: target.tokens, BENCH_HEADER: target.header, BENCH_PREFIX: target.prefix ?? '', BENCH_PATH: url.pathname },
    encoding: 'utf8',
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const bad = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors:.*/.exec(out)?.[0];
  if (!Number.isFinite(rps) || bad > 0) throw new Error(`${target.name}: ${bad} non-2xx responses or no rate:\n${out}`);
  return { rps, errors, p99: wrkPercentileMs(out, 99) };
}

const WRK_UNITS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
/** A percentile of wrk's `--latency` distribution, in ms (NaN when absent). */
function wrkPercentileMs(out, p) {
  const m = new RegExp(`^\\s+${p}(?:\\.0+)?%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
  return m ? Number(m[1]) * WRK_UNITS[m[2]] : NaN;
}

// ---------------------------------------------------------------- the library in-process
function loadLibrary() {
  const lib = require(join(ROOT, 'dist/apps/sample/libs/session/src/index.js'));
  const { NestFactory } = require('@nestjs/core');
  const { Module } = require('@nestjs/common');
  const { TypeOrmModule } = require('@nestjs/typeorm');
  return { lib, NestFactory, Module, TypeOrmModule };
}

export async function libraryContext(DATABASE_URL, secrets, extra = {}) {
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


export const splitArgs = (s) => (s ? s.split(/\s+/).filter(Boolean) : []);
