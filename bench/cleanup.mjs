// Scenario 4 of `npm run bench`: purging 1,000,000 ended sessions beside 100,000 live ones while
// paced refresh traffic runs from a separate process (bench/rotation-load.mjs).
//
// Every configuration runs once per round, interleaved, each on a fresh million rows followed by
// a CHECKPOINT (so every heap page the purge touches pays its full-page image, as it would a few
// minutes after any checkpoint in production). Right before each purge the same traffic runs for
// the same time with no purge: that idle window is the baseline the purge's window is compared
// with. Only rotations that start inside a window count (connections are warmed up first), and
// they are pooled over the rounds, so a p99 rests on thousands of rotations rather than on the
// handful of slowest ones in a two-second window.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const range = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });

const ENDED_ROWS = 1_000_000;
const RETENTION_SQL = "now() - interval '7 days'";

/**
 * One plain `DELETE … WHERE expires_at < cutoff`, no batches, one synchronous commit: what this
 * machine can delete at most (every lock held for the whole statement, so no one would run it
 * in production), the ceiling the batched forms are read against.
 */
const UNBATCHED = { name: 'one unbatched DELETE … WHERE expires_at < cutoff (the machine\'s limit)', unbatched: true };

/**
 * The configurations compared, library defaults first. `reference` is the common batched form
 * the issue measured (`DELETE … WHERE id IN (SELECT id … LIMIT n FOR UPDATE SKIP LOCKED)`, one
 * synchronous commit per batch), run here side by side rather than quoted.
 */
export const CLEANUP_CONFIGS = [
  { name: 'library defaults (5,000 per batch, pause factor 0.5)', options: {}, defaults: true },
  { name: 'library, 2,000 per batch', options: { batchSize: 2_000 } },
  { name: 'library, 5,000 per batch, pause factor 0.35', options: { pauseFactor: 0.35 } },
  { name: 'library, 5,000 per batch, pause factor 0.2', options: { pauseFactor: 0.2 } },
  { name: 'library, 5,000 per batch, pause factor 0.1', options: { pauseFactor: 0.1 } },
  { name: 'library, 5,000 per batch, no pause', options: { pauseFactor: 0 } },
  { name: 'reference: IN (SELECT … LIMIT 1,000 FOR UPDATE SKIP LOCKED)', reference: 1_000 },
  UNBATCHED,
];

/**
 * What a server-side `wal_compression = lz4` (the DBA's setting, not the library's) does for the
 * defaults: set here on the cleaner's own sessions only, which needs the SET privilege on it.
 */
const WAL_COMPRESSION = { name: 'library defaults, cleaner sessions with wal_compression = lz4', options: {}, pgOptions: '-c wal_compression=lz4' };

/**
 * `BENCH_CLEANUP_CONFIGS=5000:0.25,1000:0` (batch size:pause factor, …) replaces the library rows, for tuning on your own
 * hardware (`5000:0.5` is the defaults row, which the goals judge); the reference and the unbatched DELETE always run.
 */
function configs() {
  const spec = process.env.BENCH_CLEANUP_CONFIGS;
  if (!spec) return CLEANUP_CONFIGS;
  return [
    ...spec.split(',').map((pair) => {
      const [batchSize, pauseFactor] = pair.split(':').map(Number);
      if (batchSize === 5_000 && pauseFactor === 0.5) return CLEANUP_CONFIGS[0]; // the library defaults, judged by the goals
      return { name: `library, ${batchSize.toLocaleString('en-US')} per batch, pause factor ${pauseFactor}`, options: { batchSize, pauseFactor } };
    }),
    ...CLEANUP_CONFIGS.filter((c) => c.reference || c.unbatched),
  ];
}

/**
 * @param {object} o
 * @param {string} o.DATABASE_URL
 * @param {(cleanup: object) => Promise<{ app: any, lib: any }>} o.cleanerContext a Nest context with the library, cleanup options applied
 * @param {string[]} o.loadIds ids of 16 live sessions the rotation load works on
 * @param {number} o.rounds
 * @param {(...args: unknown[]) => void} o.log
 * @param {number} [o.endedRows] ended rows each purge starts from (default 1,000,000)
 * @param {boolean} [o.defaultsOnly] only the library's defaults (the scale part's 10-million-row purge)
 */
/** The ended rows every purge starts from (any left over are replaced), then ANALYZE and a CHECKPOINT. */
export async function fillEnded(admin, rows = ENDED_ROWS) {
  await admin.query('DELETE FROM auth_sessions WHERE user_id LIKE $1', ['bench-purge-%']);
  await admin.query(`INSERT INTO auth_sessions (id, user_id, transport, secret_hash, created_at, last_seen_at, expires_at, absolute_expires_at, revoked_at, revoke_reason)
    SELECT gen_random_uuid(), 'bench-purge-' || (g % 5000), 'bearer', sha256(g::text::bytea), now() - interval '40 days', now() - interval '40 days',
           now() - interval '30 days' + (g || ' ms')::interval, now() - interval '33 days', now() - interval '30 days', 'logout'
      FROM generate_series(1, ${rows}) g`);
  await admin.query('VACUUM ANALYZE auth_sessions');
  await admin.query('CHECKPOINT');
}

/** 100,000 live sessions beside them (replaced if already there). */
export async function fillLive(admin) {
  await admin.query('DELETE FROM auth_sessions WHERE user_id LIKE $1', ['bench-live-%']);
  await admin.query(`INSERT INTO auth_sessions (id, user_id, transport, secret_hash, created_at, last_seen_at, expires_at, absolute_expires_at)
    SELECT gen_random_uuid(), 'bench-live-' || g, 'bearer', sha256(g::text::bytea), now(), now(), now() + interval '1 day', now() + interval '7 days'
      FROM generate_series(1, 100000) g`);
}

/**
 * Records the server time of every batch the cleaner of `app` deletes (what its report's
 * `slowestBatchMs` is the maximum of), by wrapping its store's range delete: measurement only.
 */
function watchBatches(app, into, endedAt = []) {
  const { SessionStore } = require(join(ROOT, 'dist/apps/sample/libs/session/src/store/session.store.js'));
  const store = app.get(SessionStore, { strict: false });
  const deleteEndedRange = store.deleteEndedRange.bind(store);
  store.deleteEndedRange = async (...args) => {
    const batch = await deleteEndedRange(...args);
    if (batch.locked) {
      into.push(batch.serverMs);
      endedAt.push(Date.now());
    }
    return batch;
  };
}

/**
 * What the server did beside a purge, from a connection of its own: the WAL it wrote, and every
 * checkpoint that completed (polled every 50 ms from the control file: its start, and when it was
 * seen complete), by whom it was asked for. Slow batches are then set beside the checkpoints.
 */
async function watchServer(DATABASE_URL) {
  const { Client } = require('pg');
  const client = new Client({ connectionString: DATABASE_URL });
  await client.connect();
  const read = async () =>
    (
      await client.query(
        `SELECT pg_current_wal_lsn()::text AS lsn, extract(epoch FROM checkpoint_time) * 1000 AS started,
                (SELECT checkpoints_req FROM pg_stat_bgwriter) AS req, (SELECT checkpoints_timed FROM pg_stat_bgwriter) AS timed
           FROM pg_control_checkpoint()`,
      )
    ).rows[0];
  const first = await read();
  const checkpoints = [];
  let last = first.started;
  let stop = false;
  const polling = (async () => {
    while (!stop) {
      const now = await read();
      if (now.started !== last) {
        checkpoints.push({ startedAt: Number(now.started), seenAt: Date.now() });
        last = now.started;
      }
      await sleep(50);
    }
  })();
  return async () => {
    stop = true;
    await polling;
    const end = await read();
    const [{ bytes }] = (await client.query('SELECT pg_wal_lsn_diff($1, $2)::float8 AS bytes', [end.lsn, first.lsn])).rows;
    await client.end();
    return { walBytes: bytes, requested: Number(end.req) - Number(first.req), timed: Number(end.timed) - Number(first.timed), checkpoints };
  };
}

/**
 * Each batch over 50 ms with the checkpoint nearest its end: how long after that checkpoint's
 * start and before it was seen complete (a checkpoint's last phase flushes every file it wrote).
 */
function slowBatchesBesideCheckpoints(batchMs, endedAt, checkpoints) {
  return batchMs.flatMap((ms, i) => {
    if (ms <= 50) return [];
    const end = endedAt[i];
    const during = checkpoints.find((c) => c.startedAt <= end && end <= c.seenAt + 50);
    const nearest = during ?? checkpoints.reduce((best, c) => (!best || Math.abs(c.seenAt - end) < Math.abs(best.seenAt - end) ? c : best), null);
    return [{ ms: Math.round(ms * 10) / 10, duringCheckpoint: Boolean(during), msAfterStart: nearest ? end - nearest.startedAt : null, msBeforeComplete: nearest ? nearest.seenAt - end : null }];
  });
}

export async function runCleanupBench({ DATABASE_URL, cleanerContext, loadIds, rounds, log, endedRows = ENDED_ROWS, defaultsOnly = false }) {
  const { Client } = require('pg');
  const admin = new Client({ connectionString: DATABASE_URL });
  await admin.connect();
  const fill = () => fillEnded(admin, endedRows);
  if (!defaultsOnly) await fillLive(admin);

  let window = 0;
  /** Runs the rotation load in its own process while `during()` runs; returns every latency. */
  const withRotationLoad = async (during) => {
    const dump = join(ROOT, 'bench', 'out', `rotation-${window++}.json`);
    const child = spawn(process.execPath, [join(ROOT, 'bench/rotation-load.mjs')], {
      env: { ...process.env, DATABASE_URL, BENCH_SESSION_IDS: loadIds.join(','), BENCH_LATENCIES: dump },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    while (!out.includes('ready')) await sleep(20);
    await sleep(500); // every connection warms up (first queries load caches) before the window opens
    const opened = Date.now();
    const result = await during();
    const closed = Date.now();
    child.kill('SIGTERM');
    await exited;
    const latencies = JSON.parse(readFileSync(dump, 'utf8'))
      .filter(([startedAt]) => startedAt >= opened && startedAt < closed)
      .map(([, latency]) => latency);
    rmSync(dump);
    return { result, latencies, rate: JSON.parse(out.trim().split('\n').pop()).rate };
  };

  const purgeReference = async (limit) => {
    const client = new Client({ connectionString: DATABASE_URL });
    await client.connect();
    const started = performance.now();
    let deleted = 0;
    let batches = 0;
    let slowestBatchMs = 0;
    for (;;) {
      const t0 = performance.now();
      const { rowCount } = await client.query(
        `DELETE FROM auth_sessions WHERE id IN (SELECT id FROM auth_sessions WHERE expires_at < ${RETENTION_SQL} LIMIT $1 FOR UPDATE SKIP LOCKED)`,
        [limit],
      );
      slowestBatchMs = Math.max(slowestBatchMs, performance.now() - t0);
      if (!rowCount) break;
      deleted += rowCount;
      batches += 1;
    }
    await client.end();
    return { ran: true, deleted, batches, durationMs: performance.now() - started, slowestBatchMs: Math.round(slowestBatchMs * 10) / 10 };
  };

  const purgeUnbatched = async () => {
    const client = new Client({ connectionString: DATABASE_URL });
    await client.connect();
    const started = performance.now();
    const { rowCount } = await client.query(`DELETE FROM auth_sessions WHERE expires_at < ${RETENTION_SQL}`);
    const durationMs = performance.now() - started;
    await client.end();
    return { ran: true, deleted: rowCount, batches: 1, durationMs, slowestBatchMs: Math.round(durationMs * 10) / 10 };
  };

  const CONFIGS = defaultsOnly ? [CLEANUP_CONFIGS[0]] : [...configs()];
  // PostgreSQL 15+ built with lz4, and a role allowed to set it (the bench's default is the superuser).
  const { rows: lz4 } = await admin.query(
    `SELECT current_setting('server_version_num')::int >= 150000 AND 'lz4' = ANY (enumvals)
            AND (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS ok
       FROM pg_settings WHERE name = 'wal_compression'`,
  );
  const walCompressionNote = lz4[0]?.ok ? null : 'not measured: the server lacks lz4 WAL compression or this role may not set it';
  if (!walCompressionNote && !process.env.BENCH_CLEANUP_CONFIGS && !defaultsOnly) CONFIGS.splice(1, 0, WAL_COMPRESSION);
  const samples = CONFIGS.map(() => ({ idle: [], during: [], rowsPerSecond: [], slowestBatchMs: [], batchMs: [], ratios: [], rate: [], server: [] }));
  for (let round = 1; round <= rounds; round++) {
    for (const [i, config] of CONFIGS.entries()) {
      const s = samples[i];
      await fill();
      let runPurge;
      let close = async () => {};
      const batchMs = [];
      const batchEndedAt = [];
      if (config.unbatched) {
        runPurge = purgeUnbatched;
      } else if (config.reference) {
        runPurge = () => purgeReference(config.reference);
      } else {
        const { app, lib } = await cleanerContext(config.options, config.pgOptions);
        const cleaner = app.get(lib.SessionCleanupService);
        watchBatches(app, batchMs, batchEndedAt);
        runPurge = () => cleaner.runOnce();
        close = () => app.close();
      }
      const idle = await withRotationLoad(() => sleep(2_000));
      const server = await watchServer(DATABASE_URL);
      const purge = await withRotationLoad(runPurge);
      const seen = await server();
      await close();
      const report = purge.result;
      if (report.deleted !== endedRows) throw new Error(`${config.name}: deleted ${report.deleted} of ${endedRows} rows`);
      s.idle.push(...idle.latencies);
      s.during.push(...purge.latencies);
      s.rowsPerSecond.push(report.deleted / (report.durationMs / 1000));
      s.slowestBatchMs.push(report.slowestBatchMs);
      s.batchMs.push(...batchMs);
      s.server.push({
        walBytesPerRow: seen.walBytes / report.deleted,
        checkpointsRequested: seen.requested,
        checkpointsTimed: seen.timed,
        slowBatches: slowBatchesBesideCheckpoints(batchMs, batchEndedAt, seen.checkpoints),
      });
      s.ratios.push(pct(purge.latencies, 99) / pct(idle.latencies, 99));
      s.rate.push(idle.rate);
      log(
        `cleanup round ${round}/${rounds}, ${config.name}: ${Math.round(report.deleted / (report.durationMs / 1000))} rows/s, ` +
          `slowest batch ${report.slowestBatchMs} ms, rotation p99 ${pct(idle.latencies, 99).toFixed(1)} ms idle, ${pct(purge.latencies, 99).toFixed(1)} ms during; ` +
          `${Math.round(seen.walBytes / report.deleted)} B of WAL per row, ${seen.requested} checkpoint(s) asked for by WAL volume, ${seen.timed} timed` +
          (batchMs.some((ms) => ms > 50) ? `; batches over 50 ms: ${JSON.stringify(slowBatchesBesideCheckpoints(batchMs, batchEndedAt, seen.checkpoints))}` : ''),
      );
    }
  }

  // The plans of one batch halfway through the walk: the bound, then the range delete (rolled back).
  const plan = defaultsOnly ? null : await batchPlans(admin, fill, endedRows);
  await admin.end();

  // Ratios between configurations of the same round (each round's rows are fresh, the machine's
  // mood shared): the defaults against the common batched form and against the unbatched limit.
  const perRound = (pick, over) => {
    const a = samples[CONFIGS.findIndex(pick)];
    const b = samples[CONFIGS.findIndex(over)];
    return a && b ? range(a.rowsPerSecond.map((x, i) => x / b.rowsPerSecond[i])) : null;
  };
  const sideBySide = {
    toReference: perRound((c) => c.defaults, (c) => c.reference),
    shareOfUnbatched: perRound((c) => c.defaults, (c) => c.unbatched),
  };

  return {
    rows: endedRows,
    sideBySide,
    rotationRate: median(samples.flatMap((s) => s.rate)),
    walCompressionNote,
    plan,
    runs: CONFIGS.map((config, i) => {
      const s = samples[i];
      return {
        name: config.name,
        reference: Boolean(config.reference),
        defaults: Boolean(config.defaults),
        unbatched: Boolean(config.unbatched),
        // the library's knobs for this row (null for the reference and the unbatched DELETE): the trade-off curve's x
        library: config.reference || config.unbatched ? null : { batchSize: config.options.batchSize ?? 5_000, pauseFactor: config.options.pauseFactor ?? 0.5 },
        rowsPerSecondRounds: s.rowsPerSecond,
        slowestBatchRounds: range(s.slowestBatchMs),
        walCompression: Boolean(config.pgOptions),
        rowsPerSecond: range(s.rowsPerSecond),
        slowestBatchMs: Math.max(...s.slowestBatchMs),
        // Every library batch's server time over the rounds: one slow batch against how many.
        batches: s.batchMs.length ? { count: s.batchMs.length, p50: pct(s.batchMs, 50), p99: pct(s.batchMs, 99), over50: s.batchMs.filter((ms) => ms > 50).length } : null,
        // Per round: WAL per deleted row, the checkpoints that completed during the purge, and
        // where each batch over 50 ms fell beside them.
        server: s.server,
        idleP99: pct(s.idle, 99),
        duringP99: pct(s.during, 99),
        idleP50: pct(s.idle, 50),
        duringP50: pct(s.during, 50),
        samples: { idle: s.idle.length, during: s.during.length },
        ratio: pct(s.during, 99) / pct(s.idle, 99),
        roundRatios: range(s.ratios),
      };
    }),
  };
}

/** The plans of one batch halfway through a fresh walk: the bound, then the range delete (rolled back). */
async function batchPlans(admin, fill, endedRows) {
  await fill();
  const explain = async (sql, params) => (await admin.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) ${sql}`, params)).rows.map((r) => r['QUERY PLAN']).join('\n');
  const cursorText = `to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
  const at = async (offset) =>
    (await admin.query(`SELECT ${cursorText} AS e, id FROM auth_sessions WHERE expires_at < ${RETENTION_SQL} ORDER BY expires_at, id OFFSET $1 LIMIT 1`, [offset])).rows[0];
  const from = await at(endedRows / 2);
  const to = await at(endedRows / 2 + 2_000);
  const boundPlan = await explain(
    `SELECT ${cursorText}, id FROM auth_sessions WHERE expires_at < ${RETENTION_SQL} AND (expires_at, id) > ($1::timestamptz, $2::uuid) ORDER BY expires_at, id OFFSET 1999 LIMIT 1`,
    [from.e, from.id],
  );
  await admin.query('BEGIN');
  const deletePlan = await explain(
    `DELETE FROM auth_sessions WHERE expires_at < ${RETENTION_SQL} AND expires_at BETWEEN $1::timestamptz AND $3::timestamptz
        AND (expires_at, id) > ($1::timestamptz, $2::uuid) AND (expires_at, id) <= ($3::timestamptz, $4::uuid)`,
    [from.e, from.id, to.e, to.id],
  );
  await admin.query('ROLLBACK');
  return `${boundPlan}\n\n${deletePlan}`;
}
