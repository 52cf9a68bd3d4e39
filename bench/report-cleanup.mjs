// Section 4 of BENCHMARKS.md, from the `cleanup` part of bench/out/results.json (bench/cleanup.mjs).
import { fastestWithinP99 } from './goals.mjs';
const fmt = (n, d = 0) => Number(n).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const r2 = (x) => fmt(x, 2);
const goal = (ok) => (ok ? 'met' : '**missed**');

/** @returns {string[]} markdown lines */
export function cleanupSection(cleanup) {
  const lines = [];
  lines.push(`## 4. Cleanup: ${fmt(cleanup.rows)} ended rows past retention beside 100,000 live ones`, '');
  lines.push(
    `Refresh traffic runs during every purge: raw rotations (BEGIN, SELECT … FOR UPDATE, UPDATE, COMMIT) from 16 clients, each on ` +
      `its own session, paced at about ${fmt(cleanup.rotationRate)} rotations/s in all (steady traffic, not a flood), from a separate ` +
      'process. Each configuration runs once per round on a fresh million rows after a `CHECKPOINT` (so every page the purge touches ' +
      'pays its full-page image in the WAL, as it would in production a few minutes after any checkpoint). Right before each purge ' +
      'the same traffic runs for 2 s with no purge: the idle baseline. Only rotations that started inside a window count (the ' +
      'connections are warmed up first), and they are pooled over the rounds.',
    '',
  );
  lines.push(
    '| configuration | rows/s, median (min–max) | slowest batch (locks held) | rotation p99 idle → during | during / idle (pooled) | per round |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  for (const run of cleanup.runs) {
    lines.push(
      `| ${run.name} | ${fmt(run.rowsPerSecond.median)} (${fmt(run.rowsPerSecond.min)}–${fmt(run.rowsPerSecond.max)}) | ${fmt(run.slowestBatchMs, 1)} ms | ` +
        `${r2(run.idleP99)} → ${r2(run.duringP99)} ms | ${r2(run.ratio)}× | ${r2(run.roundRatios.min)}–${r2(run.roundRatios.max)}× |`,
    );
  }
  lines.push('');
  const defaults = cleanup.runs.find((r) => r.defaults) ?? cleanup.runs[0];
  const reference = cleanup.runs.find((r) => r.reference);
  const unbatched = cleanup.runs.find((r) => r.unbatched);
  const side = cleanup.sideBySide ?? {};
  const range = (r, f = r2) => (r ? `${f(r.median)} (${f(r.min)}–${f(r.max)})` : 'not measured');
  lines.push(
    `Goals, for the library's defaults: at least 2.5× the common form, rows/s taken side by side in each round: ${range(side.toReference)}×, ` +
      `${side.toReference ? goal(side.toReference.median >= 2.5) : 'not measured'}; ` +
      `no batch holding its locks over 50 ms: ${fmt(defaults.slowestBatchMs, 1)} ms at worst, ${goal(defaults.slowestBatchMs <= 50)}${batchSpread(defaults)}; ` +
      `refresh p99 during the purge at most 1.5× idle: ${r2(defaults.ratio)}×, ${goal(defaults.ratio <= 1.5)}.` +
      (reference ? ` The common form's batches took up to ${fmt(reference.slowestBatchMs, 1)} ms.` : ''),
    '',
  );
  const best = fastestWithinP99(cleanup);
  if (best) {
    lines.push(
      `Read along the trade-off curve (the rows above without wal_compression): the fastest library setting whose refresh p99 stayed ` +
        `within 1.5× idle is "${best.run.name}", ${range(best.toReference)}× the common form in the same rounds` +
        `${best.toReference.median >= 2.5 ? '' : ', short of 2.5×: a shorter pause buys rows per second with the refresh p99 the goal protects'}; ` +
        `${best.others}.`,
      '',
    );
  }
  if (unbatched) {
    lines.push(
      `The machine's limit: one unbatched \`DELETE FROM auth_sessions WHERE expires_at < cutoff\` on the same fresh million rows ` +
        `(same setup, once per round, one synchronous commit) deleted ${range(unbatched.rowsPerSecond, fmt)} rows/s, holding every ` +
        `lock for ${fmt(unbatched.slowestBatchMs, 0)} ms at worst, so nobody would run it beside live traffic. The library's ` +
        `defaults reach ${range(side.shareOfUnbatched)}× of it in the same round (${side.shareOfUnbatched ? `${fmt(side.shareOfUnbatched.median * 100)} %` : '—'}), ` +
        'pauses included. This replaces the former absolute goal of 500,000 rows/s, which said more about the machine than the library.',
      '',
    );
  }
  const compressed = cleanup.runs.find((r) => r.walCompression);
  lines.push(
    compressed
      ? `Most of the purge's WAL is full-page images of the heap pages it empties (about 240 bytes of WAL per deleted row here, ` +
          `three quarters of it page images, per \`pg_waldump --stats\`), and every refresh commit has to flush whatever WAL is ` +
          `ahead of it. With \`wal_compression = lz4\` (a server setting a DBA would make; here set on the cleaner's sessions ` +
          `only) the same defaults deleted ${fmt(compressed.rowsPerSecond.median)} rows/s with refresh p99 at ${r2(compressed.ratio)}× idle ` +
          `(slowest batch ${fmt(compressed.slowestBatchMs, 1)} ms: ${goal(compressed.slowestBatchMs <= 50)}; p99: ${goal(compressed.ratio <= 1.5)}).`
      : `WAL compression row ${cleanup.walCompressionNote ?? 'not measured'}.`,
    '',
  );
  lines.push(
    '"Slowest batch" is the statement as the server timed it (`clock_timestamp() - statement_timestamp()`); for the reference ' +
      'form and the unbatched `DELETE` it is the client\'s round trip, commit included. Rows/s counts the whole pass, pauses included.',
    '',
  );
  lines.push(
    'How the library\'s pass works: each batch is two statements. The first finds where the batch ends: an index-only walk of ' +
      '`batchSize` entries of the `(expires_at, id)` index from the previous batch\'s cursor (so no batch re-walks live rows or the ' +
      'dead entries of earlier batches). The second takes a transaction-scoped advisory lock (one cleaner at a time) and deletes ' +
      'that key range through the same index, committing asynchronously (`synchronous_commit = off` for that transaction only: a ' +
      'batch lost to a crash only leaves ended rows for the next pass). After each batch the pass pauses for `pauseFactor` × the ' +
      'batch\'s own duration, so it backs off when the database slows down. The plans of one batch halfway through the walk ' +
      '(the delete rolled back):',
    '',
    '```',
    cleanup.plan,
    '```',
    '',
  );
  return lines;
}

/** How one slow batch compares with the rest: ` (N of M batches over 50 ms; p50 … ms, p99 … ms)`. */
export function batchSpread(run) {
  const b = run.batches;
  return b ? ` (${fmt(b.over50)} of ${fmt(b.count)} batches over 50 ms; server time p50 ${fmt(b.p50, 1)} ms, p99 ${fmt(b.p99, 1)} ms)` : '';
}
