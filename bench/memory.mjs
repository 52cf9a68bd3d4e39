// Memory of the guard's caches: heap bytes per cached session, measured after a forced GC.
//
//   node --expose-gc bench/memory.mjs        (`nice -n 19` on shared cores)
//
// Builds the library and finds a database exactly as bench/guard-micro.mjs does (its header says
// how: swc into dist/bench-lib/, DATABASE_URL or a database of its own on 127.0.0.1:5432, else
// the embedded engine). No network beyond the database, which only issues the sessions and
// answers strict mode's first liveness check of each.
//
// Each round, for each of three configurations on a fresh application context,
//   tokens    revocation 'stateless': the verified-token cache alone,
//   liveness  revocation 'strict', verifiedTokenCacheSize 0: strict mode's liveness cache alone,
//   both      revocation 'strict' with both caches (what a strict app holds per session),
// with both capacities set to N (BENCH_MEMORY_SESSIONS, default 20,000) so nothing is evicted:
// gc() until stable, heap baseline, then N distinct sessions through SessionGuard.canActivate
// (each request with header strings of its own, built for it and dropped after it, as a server's
// parser makes them; the second call of each is checked to be the synchronous cached path), gc()
// until stable, heap after. Bytes per session = (after - baseline) / N, where heap is
// `heapUsed + arrayBuffers` (lru-cache keeps its index arrays in typed arrays, off the JS heap).
// The N tokens themselves are issued once, before any baseline, and kept alive through every
// measurement, so they cancel out; the caches never hold those string objects (each request's
// header is a fresh copy).
//
// Fixed cost: the heap of an application context at the default bounds (10,000 tokens, 100,000
// sessions) minus that of one with both caches off, measured on empty contexts (what a cache
// allocates up front for its capacity; noisy to a few hundred KiB). Heap at the default bounds = fixed + 10,000 × per-token
// + 100,000 × per-liveness-entry (strict mode).
//
// BENCH_MEMORY_VIA=bearer fills through `Authorization: Bearer` instead of the access cookie (the
// default, beside the CSRF cookie as a browser sends them). BENCH_MEMORY_ROUNDS (default 3).
//
// Output: human-readable lines, then as the LAST line one JSON object:
//   {"bytesPerSession":{"median","min","max"},"sessions":N,"heapAtDefaultBoundsMiB":n,"note":"..."}
// where bytesPerSession is the `both` configuration.
import { relative, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as g from './guard-micro.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.BENCH_MEMORY_SESSIONS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_MEMORY_ROUNDS ?? 3);
const VIA = process.env.BENCH_MEMORY_VIA === 'bearer' ? 'bearer' : 'cookie';
const WARM = 200;
const log = (...a) => console.log('[memory]', ...a);

if (typeof globalThis.gc !== 'function') {
  console.error('run with: node --expose-gc bench/memory.mjs');
  process.exit(2);
}

/** Full GCs until the heap stops shrinking; returns heapUsed + arrayBuffers. */
async function settledHeap() {
  let last = Infinity;
  for (let i = 0; i < 10; i++) {
    globalThis.gc();
    await g.sleep(10);
    globalThis.gc();
    const m = process.memoryUsage();
    const now = m.heapUsed + m.arrayBuffers;
    if (Math.abs(last - now) < 4096) return now;
    last = now;
  }
  return last;
}

/** The context of one request carrying `token`, every header string its own. */
const requestFor = (options, token) => (VIA === 'bearer' ? g.bearerContext(token) : g.cookieContext(options, token));

/** Sends every token through the guard (slow path, awaited), then checks its cached path. */
async function fill(ctx, tokens, concurrency) {
  let next = 0;
  const worker = async () => {
    while (next < tokens.length) {
      const token = tokens[next++];
      const first = ctx.guard.canActivate(requestFor(ctx.options, token));
      if (first !== true && (await first) !== true) throw new Error('the guard refused a valid token');
      const second = ctx.guard.canActivate(requestFor(ctx.options, token));
      // With the token cache on, the second call must be the synchronous cached path.
      if (second !== true && (ctx.options.verifiedTokenCacheSize > 0 || (await second) !== true)) throw new Error('the second call is not the cached path');
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function main() {
  const lib = g.buildLibrary();
  log(`library compiled to ${relative(ROOT, g.LIB_OUT)}/`);
  const db = await g.openDatabase('nest_sessions_memory_bench');
  const concurrency = db.embedded ? 1 : 8;
  log(`database: ${db.embedded ? 'embedded engine' : db.url.replace(/\/\/[^@]*@/, '//')}; filling through the ${VIA === 'bearer' ? 'Authorization header' : 'access cookie'}`);

  const issuer = await g.createSessionContext(lib, db.url, { revocation: { mode: 'stateless' } }, db);
  const started = Date.now();
  const warmTokens = await g.issueTokens(issuer.sessions, WARM, concurrency, N);
  const tokens = (await g.issueTokens(issuer.sessions, N, concurrency)).map(g.fresh);
  await issuer.app.close();
  log(`${N + WARM} sessions issued in ${((Date.now() - started) / 1000).toFixed(1)} s; token length ${tokens[0].length}`);

  const configs = {
    tokens: { revocation: { mode: 'stateless', cache: { max: N + WARM, ttl: '60s' } }, verifiedTokenCacheSize: N + WARM },
    liveness: { revocation: { mode: 'strict', cache: { max: N + WARM, ttl: '60s' } }, verifiedTokenCacheSize: 0 },
    both: { revocation: { mode: 'strict', cache: { max: N + WARM, ttl: '60s' } }, verifiedTokenCacheSize: N + WARM },
  };
  const perSession = { tokens: [], liveness: [], both: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, extra] of Object.entries(configs)) {
      const ctx = await g.createSessionContext(lib, db.url, extra, db);
      await fill(ctx, warmTokens, concurrency); // JIT, pool connections, lazily made structures
      const before = await settledHeap();
      await fill(ctx, tokens, concurrency);
      const after = await settledHeap();
      perSession[name].push((after - before) / N);
      log(`round ${round + 1}/${ROUNDS} ${name.padEnd(8)} ${((after - before) / N).toFixed(0)} bytes per session`);
      await ctx.app.close();
    }
  }

  // Up-front cost of the caches at the default bounds: two empty contexts alive together, one at
  // the defaults and one with both caches off, created in alternating order (the first of each
  // pair also absorbs whatever the previous pair left to collect); median of the differences.
  const OFF = { revocation: { mode: 'strict', cache: { max: 0 } }, verifiedTokenCacheSize: 0 };
  const DEFAULTS = { revocation: { mode: 'strict' } };
  const fixed = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const order = round % 2 ? [OFF, DEFAULTS] : [DEFAULTS, OFF];
    await g.sleep(300);
    const m0 = await settledHeap();
    const first = await g.createSessionContext(lib, db.url, order[0], db);
    const m1 = await settledHeap();
    const second = await g.createSessionContext(lib, db.url, order[1], db);
    const m2 = await settledHeap();
    const [a, b] = [m1 - m0, m2 - m1];
    if (round > 0) fixed.push(order[0] === DEFAULTS ? a - b : b - a); // round 0 warms up
    await first.app.close();
    await second.app.close();
  }

  const r = Object.fromEntries(Object.entries(perSession).map(([k, v]) => [k, g.range(v)]));
  const fixedBytes = g.median(fixed);
  const atDefaults = fixedBytes + 10_000 * r.tokens.median + 100_000 * r.liveness.median;
  const MiB = (b) => b / 1048576;
  log('');
  for (const [k, v] of Object.entries(r)) log(`${k.padEnd(8)} ${v.median.toFixed(0)} bytes per session (min ${v.min.toFixed(0)}, max ${v.max.toFixed(0)})`);
  log(`goal ≤ 1,000 bytes per cached session (both caches): ${r.both.median <= 1000 ? 'met' : 'NOT met'}`);
  log(`up-front cost of the caches at the default bounds (empty): ${MiB(fixedBytes).toFixed(2)} MiB (rounds: ${fixed.map((b) => MiB(b).toFixed(2)).join(', ')})`);
  log(`heap of the caches at the default bounds (10,000 tokens, 100,000 sessions, strict): ${MiB(atDefaults).toFixed(1)} MiB (estimated)`);
  const rss = process.memoryUsage().rss;
  log(`process RSS now (every context closed): ${MiB(rss).toFixed(0)} MiB`);

  await db.stop();
  const round0 = (x) => Math.round(x);
  console.log(
    JSON.stringify({
      bytesPerSession: { median: round0(r.both.median), min: round0(r.both.min), max: round0(r.both.max) },
      sessions: N,
      heapAtDefaultBoundsMiB: Number(MiB(atDefaults).toFixed(1)),
      note:
        `heapUsed+arrayBuffers after forced GC, ${ROUNDS} rounds, filled through the ${VIA}; per token (verified-token cache alone) ` +
        `${round0(r.tokens.median)} B, per session (liveness cache alone) ${round0(r.liveness.median)} B, both ${round0(r.both.median)} B; ` +
        `up-front cost at default bounds ${MiB(fixedBytes).toFixed(2)} MiB; heapAtDefaultBounds = up-front + 10,000 x per-token + 100,000 x per-liveness-entry (estimated, caches only)`,
    }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
