// `npm run bench`, part "scale": what the per-request paths cost as the table grows. With 1
// thousand, 1 million and 10 million live sessions (BENCH_SCALE_SIZES), side by side round by
// round: the store-level refresh (16 clients), a strict guard with its cache off, the guard on a
// cache miss (caches far smaller than the 1,000 tokens wrk cycles through, so every check
// verifies the token and reads the row; the rows are found open, so each is cached again), and the unguarded route as the machine's drift. At the
// middle size, the working-set curve: strict mode with its default cache bounds against 1,000 to
// 200,000 distinct sessions. Last, the cleanup of 10 million ended rows beside the 10 million
// live ones, with refresh traffic running.
//
// It works in a database of its own (`<bench database>_scale`, dropped at the end): the sizes are
// then exact, and the other parts' rows stay out of it. The guard's sessions are drawn uniformly
// from the whole table, so their rows sit on pages all over the heap and their keys all over the
// primary key, as an active user's row among ten million would.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { runCleanupBench } from './cleanup.mjs';
import { LOAD_CPUS, OUT, ROOT, SECONDS, fmt, log, pct, pinSelf, range, require, sleep, startServer, stopServer, libraryContext, wrk } from './harness.mjs';

const list = (value, fallback) => (value ?? fallback).split(',').map(Number).filter((n) => n > 0);
export const SCALE_SIZES = list(process.env.BENCH_SCALE_SIZES, '1000,1000000,10000000');
export const WORKING_SETS = list(process.env.BENCH_WORKING_SETS, '1000,10000,50000,100000,150000,200000');
const SCALE_ROUNDS = Number(process.env.BENCH_SCALE_ROUNDS ?? 3);
const SCALE_ENDED = Number(process.env.BENCH_SCALE_ENDED ?? 10_000_000);
const GUARD_TOKENS = 1_000;
/** Rows per INSERT while filling: one statement per chunk keeps each transaction's WAL and sort bounded. */
const FILL_CHUNK = 1_000_000;
const DAY_MS = 86_400_000;
/**
 * wrk connections here: as many as the refresh's clients. At 64, a route's p99 is mostly wrk's
 * own queue and the scheduler (the same unguarded route gave 140 and 590 ms in two runs); at 16
 * the rate is within a few percent of it and the p99 says something about the request.
 */
const CONNECTIONS = 16;


/** A database beside DATABASE_URL's, made empty. */
async function scaleDatabase(DATABASE_URL) {
  const { Client } = require('pg');
  const url = new URL(DATABASE_URL);
  const name = `${url.pathname.slice(1) || 'postgres'}_scale`;
  const admin = new Client({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const a = new Client({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString() });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await a.end();
    },
  };
}

/**
 * Live rows up to `total` in all, in chunks, each chunk inserted in primary-key order (random
 * UUIDs sorted first): the B-tree is then written in a sweep rather than at random, which makes
 * ten million rows a matter of minutes; the rows themselves are the same.
 */
async function fillLiveTo(admin, total) {
  const { rows } = await admin.query('SELECT count(*)::int AS n FROM auth_sessions');
  for (let have = rows[0].n; have < total; ) {
    const n = Math.min(FILL_CHUNK, total - have);
    await admin.query(
      `INSERT INTO auth_sessions (id, user_id, transport, secret_hash, created_at, last_seen_at, expires_at, absolute_expires_at)
       SELECT id, 'bench-fill-' || (g % 1000000), 'bearer', sha256((g + $1)::text::bytea), now() - interval '1 hour', now() - interval '1 hour',
              now() + interval '12 hours' + ((g::bigint * 7919) % ${DAY_MS / 2}) * interval '1 ms', now() + interval '6 days'
         FROM (SELECT gen_random_uuid() AS id, g FROM generate_series(1, $2::int) g ORDER BY 1) AS fresh`,
      [have, n],
    );
    have += n;
    log(`scale: ${fmt(have)} live rows`);
  }
  await admin.query('VACUUM ANALYZE auth_sessions');
  await admin.query('CHECKPOINT');
}

/** `count` distinct filler sessions drawn uniformly from the whole table (one scan, seconds at ten million rows). */
async function drawSessions(admin, count) {
  const { rows } = await admin.query(`SELECT id, user_id FROM auth_sessions WHERE user_id LIKE 'bench-fill-%' ORDER BY random() LIMIT $1`, [count]);
  return rows;
}

/** Access tokens for existing rows, signed by the library's one signer. */
async function tokensFor(ctx, rows, file) {
  const { AccessTokenService } = require(join(ROOT, 'dist/apps/sample/libs/session/src/tokens/access-token.js'));
  const signer = ctx.get(AccessTokenService, { strict: false });
  const now = Date.now();
  const tokens = [];
  for (const row of rows) tokens.push((await signer.sign({ id: row.user_id, roles: [] }, row.id, now, now + 6 * DAY_MS)).token);
  writeFileSync(file, tokens.join('\n') + '\n');
  return file;
}

/** 16 clients refreshing their own sessions through `SessionService.refresh` for `seconds`. */
async function storeRefresh(sessions, tokens, seconds) {
  const latencies = [];
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    tokens.map(async (_, w) => {
      while (Date.now() < until) {
        const t0 = performance.now();
        tokens[w] = (await sessions.refresh({ token: tokens[w], via: 'body' })).refreshToken;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { rate: latencies.length / seconds, p99: pct(latencies, 99) };
}

/** The figures of one size, `SCALE_ROUNDS` interleaved rounds. */
async function measureSize({ size, admin, ctx, sessions, servers }) {
  const tokens = await tokensFor(ctx, await drawSessions(admin, GUARD_TOKENS), join(OUT, 'tokens-scale.txt'));
  const refreshTokens = await Promise.all(Array.from({ length: 16 }, (_, i) => sessions.issue({ id: `bench-scale-refresh-${i}`, roles: [] }, { transport: 'bearer' }).then((g) => g.refreshToken)));
  const target = (server, name) => ({ name, server, path: name === 'unguarded' ? '/bench/unguarded' : '/whoami', tokens, header: 'Authorization', prefix: 'Bearer ', connections: CONNECTIONS });
  const targets = { noCache: target(servers.noCache, 'strict, cache off'), miss: target(servers.miss, 'cache miss'), unguarded: target(servers.noCache, 'unguarded') };
  // warm-up, not counted: each server's routes and connections, a first walk through the tokens
  // (each session's first check writes its last_seen_at), the refresh path
  for (const t of Object.values(targets)) wrk(t, 2);
  await storeRefresh(sessions, refreshTokens, 1);
  const runs = { refresh: [], noCache: [], miss: [], unguarded: [] };
  for (let round = 1; round <= SCALE_ROUNDS; round++) {
    pinSelf(LOAD_CPUS);
    runs.refresh.push(await storeRefresh(sessions, refreshTokens, SECONDS));
    pinSelf(null);
    for (const [key, t] of Object.entries(targets)) {
      const { rps, p99 } = wrk(t, SECONDS);
      runs[key].push({ rate: rps, p99 });
    }
    log(
      `scale ${fmt(size)} round ${round}/${SCALE_ROUNDS}: refresh ${fmt(runs.refresh.at(-1).rate)}/s p99 ${fmt(runs.refresh.at(-1).p99, 1)} ms; ` +
        `strict no cache ${fmt(runs.noCache.at(-1).rate)}/s p99 ${fmt(runs.noCache.at(-1).p99, 1)} ms; cache miss ${fmt(runs.miss.at(-1).rate)}/s; unguarded ${fmt(runs.unguarded.at(-1).rate)}/s`,
    );
  }
  const stats = (xs) => ({ rate: range(xs.map((x) => x.rate)), p99: range(xs.map((x) => x.p99)), rounds: xs });
  return { size, refresh: stats(runs.refresh), noCache: stats(runs.noCache), miss: stats(runs.miss), unguarded: stats(runs.unguarded) };
}

/**
 * Strict mode with its default cache bounds (100,000 sessions found open, 10,000 verified
 * tokens) against working sets of 1,000 to 200,000 sessions. wrk walks the tokens in a cycle,
 * the worst order for an LRU cache: once the set outgrows a bound, every request misses it. A
 * fresh server per point, first walked once through the whole set (not counted).
 */
async function workingSetCurve({ admin, ctx, sampleMain, env }) {
  const { SESSION_DEFAULTS } = require(join(ROOT, 'dist/apps/sample/libs/session/src/session.defaults.js'));
  const livenessBound = SESSION_DEFAULTS.revocation.cache.max;
  const largest = Math.max(...WORKING_SETS);
  const drawn = await drawSessions(admin, largest);
  const points = [];
  for (const set of WORKING_SETS) {
    if (drawn.length < set) break;
    const file = await tokensFor(ctx, drawn.slice(0, set), join(OUT, 'tokens-working-set.txt'));
    const server = await startServer(`working-set-${set}`, sampleMain, env);
    const t = { name: `working set ${set}`, server, path: '/whoami', tokens: file, header: 'Authorization', prefix: 'Bearer ', connections: CONNECTIONS };
    const first = wrk(t, 1);
    // One walk through the set at the rate just seen, plus a margin. Past the cache's bound the
    // cyclic walk misses on every request from the start, so there is nothing to warm.
    wrk(t, set > livenessBound ? 2 : Math.min(60, Math.ceil((set / first.rps) * 1.2) + 1));
    const rounds = [];
    for (let i = 0; i < 2; i++) {
      const { rps, p99 } = wrk(t, SECONDS);
      rounds.push({ rate: rps, p99 });
    }
    stopServer(server);
    const point = { sessions: set, rate: range(rounds.map((r) => r.rate)), p99: range(rounds.map((r) => r.p99)) };
    points.push(point);
    log(`working set ${fmt(set)}: ${fmt(point.rate.median)}/s, p99 ${fmt(point.p99.median, 1)} ms`);
  }
  return { points, bounds: { sessions: livenessBound, tokens: SESSION_DEFAULTS.verifiedTokenCacheSize } };
}

/** Measures the scale curves; writes results.scale. */
export async function benchScale({ results, sampleMain, sampleEnv, DATABASE_URL, secrets }) {
  const db = await scaleDatabase(DATABASE_URL);
  log(`scale: sizes ${SCALE_SIZES.map((n) => fmt(n)).join(', ')} live sessions, ${SCALE_ROUNDS} rounds each; then ${fmt(SCALE_ENDED)} ended rows for the cleanup`);
  const env = { ...sampleEnv, DATABASE_URL: db.url };
  // The first server runs the migrations on the new database.
  const servers = {
    noCache: await startServer('scale-strict-nocache', sampleMain, { ...env, REVOCATION_CACHE_MAX: '0' }),
    miss: await startServer('scale-cache-miss', sampleMain, { ...env, REVOCATION_CACHE_MAX: '100', VERIFIED_TOKEN_CACHE: '100' }),
  };
  const { app: ctx, lib } = await libraryContext(db.url, secrets);
  const sessions = ctx.get(lib.SessionService);
  const { Client } = require('pg');
  const admin = new Client({ connectionString: db.url });
  await admin.connect();
  const scale = { sizes: [], workingSet: null, cleanup: null, rounds: SCALE_ROUNDS, seconds: SECONDS };
  const middle = SCALE_SIZES[Math.floor(SCALE_SIZES.length / 2)];
  try {
    for (const size of SCALE_SIZES) {
      await fillLiveTo(admin, size);
      scale.sizes.push(await measureSize({ size, admin, ctx, sessions, servers }));
      if (size === middle && WORKING_SETS.length > 0) {
        log(`working set: strict mode, default cache bounds, ${WORKING_SETS.map((n) => fmt(n)).join(', ')} distinct sessions (table of ${fmt(size)})`);
        scale.workingSet = { tableRows: size, ...(await workingSetCurve({ admin, ctx, sampleMain, env })) };
      }
    }
    stopServer(servers.noCache);
    stopServer(servers.miss);
    if (SCALE_ENDED > 0) {
      log(`scale: cleanup of ${fmt(SCALE_ENDED)} ended rows beside ${fmt(Math.max(...SCALE_SIZES))} live ones`);
      const loadIds = await Promise.all(Array.from({ length: 16 }, async (_, i) => (await sessions.issue({ id: `bench-scale-load-${i}`, roles: [] }, { transport: 'bearer' })).sessionId));
      scale.cleanup = await runCleanupBench({
        DATABASE_URL: db.url,
        cleanerContext: (options) => libraryContext(db.url, secrets, { cleanup: options }),
        loadIds,
        rounds: 1,
        log,
        endedRows: SCALE_ENDED,
        defaultsOnly: true,
      });
    }
  } finally {
    await admin.end();
    await ctx.close();
    stopServer(servers.noCache);
    stopServer(servers.miss);
    await sleep(500);
    await db.drop();
  }
  results.scale = scale;
  writeFileSync(join(OUT, 'scale.json'), JSON.stringify(scale, null, 2));
}
