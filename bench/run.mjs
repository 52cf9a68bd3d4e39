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
//   BENCH_ONLY=guard,refresh,login,micro,bound,telemetry,memory,cleanup,scale  run a subset: prints the goals it can
//       judge (the others "not measured"), writes bench/out/results-only.json, leaves BENCHMARKS.md alone
//   BENCH_WARMUP=2 BENCH_ROUND_WARMUP=1                      warm-up seconds (not counted)
//   BENCH_PIN=0                                              no CPU pinning
//   BENCH_SERVER_CPUS=0 BENCH_LOAD_CPUS=1                    taskset CPU lists
//   BENCH_BREAKDOWN_N=200                                    sequential refreshes per round for the HTTP breakdown
//   BENCH_BETTER_AUTH_SESSIONS=200                           distinct better-auth sessions (each sign-in costs a scrypt)
//   BENCH_CACHE_SESSIONS=20000                               sessions for the RSS cache-fill figure (0: skip it)
//   BENCH_CLEANUP_CONFIGS=5000:0.25,1000:0                   cleanup configurations to tune (bench/cleanup.mjs)
//   BENCH_SCALE_SIZES=1000,1000000,10000000                  live sessions per step of the scale curves (bench/scale.mjs)
//   BENCH_WORKING_SETS=1000,…,200000 BENCH_SCALE_ROUNDS=3    the working-set curve's points; rounds per scale step
//   BENCH_SCALE_ENDED=10000000                               ended rows for the scale part's cleanup (0: skip it)
//   BENCH_GUARD_MICRO_ARGS, BENCH_MEMORY_ARGS                extra node flags for bench/guard-micro.mjs, bench/memory.mjs
//
// The parts live beside this file: guarded-get.mjs, refresh-login.mjs, micro.mjs, bound-sessions.mjs, telemetry-overhead.mjs, cleanup.mjs,
// memory.mjs, scale.mjs; what they share (knobs, statistics, servers, wrk, pinning) is in harness.mjs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fillEnded, fillLive, runCleanupBench } from './cleanup.mjs';
import { goalsText, judgeGoals } from './goals.mjs';
import { benchGuardedGet, buildPeers } from './guarded-get.mjs';
import { benchLogin, benchRefresh } from './refresh-login.mjs';
import { benchMicro } from './micro.mjs';
import { benchBoundSessions } from './bound-sessions.mjs';
import { benchTelemetry } from './telemetry-overhead.mjs';
import { benchScale } from './scale.mjs';
import { UNLIMITED_RATE_LIMITS } from '../scripts/unlimited-rate-limits.mjs';
import {
  CLEANUP_ROUNDS, ONLY, OUT, PARTS, PIN, ROOT, ROUNDS, ROUND_WARMUP, SECONDS, WARMUP, children, ensureDatabase, ensureWrk, fmt, serverSettings,
  libraryContext, log, pool, post, require, rssMiB, runJsonChild, sleep, splitArgs, startServer, stopServer, wants, wrk,
} from './harness.mjs';

async function main() {
  mkdirSync(OUT, { recursive: true });
  if (wants('guard') || wants('bound') || wants('telemetry') || wants('memory') || wants('scale')) ensureWrk();
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
    ...UNLIMITED_RATE_LIMITS,
    SESSION_CLEANUP: 'false',
    BENCH_ROUTES: 'true',
  };
  const results = {
    date: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, postgres: await serverSettings(DATABASE_URL) },
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

  /** Runs one part; a failure is logged and recorded (its goals say "not measured" and why), and the other parts go on. */
  const part = async (name, run) => {
    try {
      await run();
    } catch (error) {
      log(`${name} failed: ${error?.stack ?? error}`);
      (results.failed ??= {})[name] = String(error?.message ?? error).split('\n')[0].slice(0, 300);
    }
  };
  const scenario = { results, strict, sampleMain, sampleEnv, DATABASE_URL, email, password, betterAuthNote, sessions, ctx, loadIds, secrets };
  if (wants('guard')) await part('guard', () => benchGuardedGet(scenario));
  if (wants('refresh')) await part('refresh', () => benchRefresh(scenario));
  if (wants('login')) await part('login', () => benchLogin(scenario));
  if (wants('micro')) await part('micro', () => benchMicro(scenario));
  if (wants('bound')) await part('bound', () => benchBoundSessions(scenario));
  if (wants('telemetry')) await part('telemetry', () => benchTelemetry(scenario));

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
  if (wants('cleanup')) await part('cleanup', async () => {
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
  });

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

  // ------------------------------------------------------------ 7. Scale: 1 thousand to 10 million sessions (bench/scale.mjs, its own database)
  if (wants('scale')) await part('scale', () => benchScale(scenario));

  await ctx.close();
  const goals = judgeGoals(results);
  results.goals = goals;
  if (ONLY) {
    writeFileSync(join(OUT, 'results-only.json'), JSON.stringify(results, null, 2));
    log('BENCH_ONLY: wrote bench/out/results-only.json; BENCHMARKS.md left alone');
  } else {
    writeFileSync(join(OUT, 'results.json'), JSON.stringify(results, null, 2));
    const { recordRun } = await import('./report-runs.mjs');
    recordRun(results, goals, ROOT);
    const { writeReport } = await import('./report.mjs');
    writeReport(results, ROOT);
    log('wrote BENCHMARKS.md and bench/results.svg');
  }
  console.log(`\nGoals (median over rounds, min–max in brackets; ${PIN.note}):\n${goalsText(goals)}\n`);
  for (const c of children) c.kill('SIGTERM');
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
