// Section 7 of BENCHMARKS.md and bench/scale.svg, from the `scale` part of bench/out/results.json
// (bench/scale.mjs) and the cleanup part's configurations (the trade-off curve).
import { writeFileSync } from 'node:fs';
import { batchSpread } from './report-cleanup.mjs';
import { join } from 'node:path';
import { scaleRatio, span } from './goals.mjs';

const fmt = (n, d = 0) => Number(n).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const r2 = (x) => fmt(x, 2);
const PATHS = [
  ['refresh', 'store-level refresh (16 clients)', '#1f77b4'],
  ['noCache', 'strict guard, cache off', '#d62728'],
  ['miss', 'guard on a cache miss', '#2ca02c'],
  ['unguarded', 'unguarded route (drift)', '#7f7f7f'],
];

/** @returns {string[]} markdown lines; writes bench/scale.svg */
export function scaleSection(scale, cleanup, root) {
  writeFileSync(join(root, 'bench', 'scale.svg'), scaleChart(scale, cleanup) + '\n');
  const [base] = scale.sizes;
  const lines = ['## 7. Cost as the work grows (`bench/scale.mjs`)', ''];
  lines.push(
    `The table holds ${scale.sizes.map((s) => fmt(s.size)).join(', ')} live sessions in turn (a database of its own, filled in ` +
      `primary-key order, then \`VACUUM ANALYZE\` and a \`CHECKPOINT\`). At each size, ${scale.rounds} interleaved rounds of ${scale.seconds} s: ` +
      'the store-level refresh (`SessionService.refresh`, 16 clients each on its own session), a strict guard with its cache off, ' +
      'the guard on a cache miss (caches of 100 entries against 1,000 tokens walked in a cycle: every request verifies its token, ' +
      'reads its row and caches it again) and the unguarded route of the same process (what the machine did meanwhile). The guard\'s ' +
      '1,000 sessions are drawn uniformly from the whole table at each size, so their rows and keys are spread over the heap and the ' +
      'primary key. wrk runs 16 connections here (at 64 its p99 is mostly its own queue). Each ratio is a size\'s round against the ' +
      'smallest size\'s round of the same number, median (min–max). The sizes cannot be interleaved (the table\'s size is state), ' +
      'so the goals take each figure against the unguarded route of its own round first ("adjusted": rates divided by that route\'s ' +
      'rate, p99s multiplied by it): no table size touches that route, so what the machine did meanwhile (here, Postgres writing ' +
      'out ten million fresh rows) cancels out. Both forms are shown.',
    '',
    '![Scale curves, working set, cleanup trade-off](bench/scale.svg)',
    '',
  );
  lines.push('| live sessions | ' + PATHS.map(([, name]) => `${name}: rate/s, p99 ms`).join(' | ') + ' |');
  lines.push('| --- |' + PATHS.map(() => ' --- |').join(''));
  for (const size of scale.sizes) {
    const cells = PATHS.map(([key]) => {
      const figure = `${fmt(size[key].rate.median)}/s, ${fmt(size[key].p99.median, 1)} ms`;
      if (size === base) return figure;
      if (key === 'unguarded') return `${figure} (rate ${span(scaleRatio(size, base, key, 'rate', false))}×, p99 ${span(scaleRatio(size, base, key, 'p99', false))}×)`;
      return `${figure} (adjusted: rate ${span(scaleRatio(size, base, key, 'rate'))}×, p99 ${span(scaleRatio(size, base, key, 'p99'))}×; as measured: rate ${r2(scaleRatio(size, base, key, 'rate', false).median)}×, p99 ${r2(scaleRatio(size, base, key, 'p99', false).median)}×)`;
    });
    lines.push(`| ${fmt(size.size)} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  if (scale.cleanup) {
    const run = scale.cleanup.runs[0];
    lines.push(
      `**The cleanup at ${fmt(scale.cleanup.rows)} ended rows** (beside the ${fmt(scale.sizes.at(-1).size)} live ones, library defaults, ` +
        `raw refresh rotations paced at about ${fmt(scale.cleanup.rotationRate)}/s beside it as in section 4): ` +
        `${fmt(run.rowsPerSecond.median)} rows/s, slowest batch ${fmt(run.slowestBatchMs, 1)} ms (goal ≤ 50: ${run.slowestBatchMs <= 50 ? 'met' : '**missed**'})${batchSpread(run)}, ` +
        `refresh p99 ${r2(run.idleP99)} ms idle → ${r2(run.duringP99)} ms during = ${r2(run.ratio)}× (goal ≤ 1.5: ${run.ratio <= 1.5 ? 'met' : '**missed**'}; ` +
        `${fmt(run.samples.idle)} and ${fmt(run.samples.during)} rotations). Each batch walks its own slice of the \`(expires_at, id)\` index from ` +
        'the previous batch\'s cursor, so its cost does not grow with the rows before or after it.' +
        serverBesidePurge(run),
      '',
    );
  }
  const ws = scale.workingSet;
  if (ws?.points.length) {
    lines.push(
      `**The working set.** Strict mode with its default cache bounds (${fmt(ws.bounds.sessions)} sessions found open, ${fmt(ws.bounds.tokens)} ` +
        `verified tokens) on the table of ${fmt(ws.tableRows)}, against ever more distinct sessions. wrk walks the tokens in a cycle, the ` +
        'worst order for an LRU cache: once the set outgrows a bound, every request misses it. A fresh server per point, walked once ' +
        'through the whole set first (not counted), then two runs.',
      '',
      '| distinct sessions | requests/s | to the smallest set | p99 ms |',
      '| --- | --- | --- | --- |',
      ...ws.points.map((p) => `| ${fmt(p.sessions)} | ${span(p.rate, fmt)} | ${r2(p.rate.median / ws.points[0].rate.median)}× | ${span(p.p99, (v) => fmt(v, 1))} |`),
      '',
      `Past ${fmt(ws.bounds.tokens)} sessions each request verifies its token again (one HS256 verification); past ${fmt(ws.bounds.sessions)} ` +
        'each also reads its row (one primary-key read) and caches it again, which is what the cache-miss column above measures. ' +
        missFloor(ws, scale.sizes),
      '',
    );
  }
  return lines;
}

/** The largest working set against the cache-miss figure at the same table size (measured minutes apart, so roughly). */
function missFloor(ws, sizes) {
  const same = sizes.find((s) => s.size === ws.tableRows);
  const last = ws.points.at(-1);
  if (!same || last.sessions <= ws.bounds.sessions) return '';
  return `At ${fmt(last.sessions)} sessions the rate is ${r2(last.rate.median / same.miss.rate.median)}× the cache-miss figure at the same table size, measured minutes apart.`;
}

// ------------------------------------------------------------------ the SVG: three panels side by side
const W = 300;
const H = 230;
const PAD = { l: 46, r: 12, t: 30, b: 40 };

function panel(x0, title, xTicks, yTicks, body) {
  const out = [`<g transform="translate(${x0},0)">`, `<text x="${W / 2}" y="16" text-anchor="middle" font-weight="bold">${title}</text>`];
  out.push(`<line x1="${PAD.l}" y1="${H - PAD.b}" x2="${W - PAD.r}" y2="${H - PAD.b}" stroke="#000"/>`, `<line x1="${PAD.l}" y1="${PAD.t}" x2="${PAD.l}" y2="${H - PAD.b}" stroke="#000"/>`);
  for (const [x, label] of xTicks) out.push(`<text x="${x}" y="${H - PAD.b + 14}" text-anchor="middle" font-size="10">${label}</text>`);
  for (const [y, label] of yTicks) out.push(`<text x="${PAD.l - 4}" y="${y + 3}" text-anchor="end" font-size="10">${label}</text>`, `<line x1="${PAD.l}" y1="${y}" x2="${W - PAD.r}" y2="${y}" stroke="#eee"/>`);
  out.push(...body, '</g>');
  return out.join('\n');
}

const logScale = (values) => {
  const lo = Math.log10(Math.min(...values));
  const hi = Math.log10(Math.max(...values));
  return (v) => PAD.l + 10 + ((Math.log10(v) - lo) / (hi - lo || 1)) * (W - PAD.l - PAD.r - 20);
};
const linScale = (lo, hi) => (v) => H - PAD.b - ((v - lo) / (hi - lo)) * (H - PAD.t - PAD.b);
const short = (n) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));
const polyline = (pts, color, dash) => `<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ' stroke-dasharray="5,3"' : ''} points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`;

function scaleChart(scale, cleanup) {
  const panels = [];
  // 1. each path's rate (solid) and p99 (dashed) against the smallest size
  const sizes = scale.sizes.map((s) => s.size);
  const x1 = logScale(sizes);
  const y1 = linScale(0.4, 1.6);
  const body1 = [
    `<line x1="${PAD.l}" y1="${y1(0.9)}" x2="${W - PAD.r}" y2="${y1(0.9)}" stroke="#000" stroke-dasharray="2,2"/><text x="${W - PAD.r}" y="${y1(0.9) + 11}" text-anchor="end" font-size="9">rate goal ≥ 0.9</text>`,
    `<line x1="${PAD.l}" y1="${y1(1.2)}" x2="${W - PAD.r}" y2="${y1(1.2)}" stroke="#000" stroke-dasharray="2,2"/><text x="${W - PAD.r}" y="${y1(1.2) - 3}" text-anchor="end" font-size="9">p99 goal ≤ 1.2</text>`,
  ];
  const [base] = scale.sizes;
  for (const [key, , color] of PATHS) {
    const clamp = (v) => Math.max(0.4, Math.min(1.6, v));
    if (key === 'unguarded') continue; // the adjustment's reference: 1 by construction
    body1.push(polyline(scale.sizes.map((s) => [x1(s.size), y1(clamp(s === base ? 1 : scaleRatio(s, base, key, 'rate').median))]), color));
    body1.push(polyline(scale.sizes.map((s) => [x1(s.size), y1(clamp(s === base ? 1 : scaleRatio(s, base, key, 'p99').median))]), color, true));
  }
  panels.push(panel(0, 'Rate (solid), p99 (dashed) vs smallest, adjusted', sizes.map((s) => [x1(s), short(s)]), [0.4, 0.6, 0.8, 1, 1.2, 1.4, 1.6].map((v) => [y1(v), v.toFixed(1)]), body1));

  // 2. the working-set curve
  const points = scale.workingSet?.points ?? [];
  if (points.length) {
    const x2 = logScale(points.map((p) => p.sessions));
    const top = Math.ceil(Math.max(...points.map((p) => p.rate.max)) / 500) * 500;
    const y2 = linScale(0, top);
    const body2 = [polyline(points.map((p) => [x2(p.sessions), y2(p.rate.median)]), '#9467bd')];
    const sets = points.map((p) => p.sessions);
    for (const [bound, label] of [[scale.workingSet.bounds.tokens, 'token cache'], [scale.workingSet.bounds.sessions, 'session cache']]) {
      if (bound < Math.min(...sets) || bound > Math.max(...sets)) continue;
      body2.push(`<line x1="${x2(bound)}" y1="${PAD.t}" x2="${x2(bound)}" y2="${H - PAD.b}" stroke="#999" stroke-dasharray="3,3"/><text x="${x2(bound) + 2}" y="${PAD.t + 10}" font-size="9">${label}</text>`);
    }
    panels.push(panel(W, 'Strict mode: requests/s vs working set', points.map((p) => [x2(p.sessions), short(p.sessions)]), [0, top / 2, top].map((v) => [y2(v), fmt(v)]), body2));
  }

  // 3. the cleanup's trade-off: pause factor against rows/s (× the SKIP LOCKED form) and refresh p99 (× idle)
  const reference = cleanup?.runs.find((r) => r.reference);
  const curve = (cleanup?.runs ?? []).filter((r) => r.library && r.library.batchSize === 5_000 && !r.walCompression).sort((a, b) => a.library.pauseFactor - b.library.pauseFactor);
  if (reference && curve.length > 1) {
    const px = (v) => PAD.l + 10 + (v / 0.5) * (W - PAD.l - PAD.r - 20);
    const y3 = linScale(0, 4);
    const body3 = [
      `<rect x="${PAD.l}" y="${y3(4)}" width="${W - PAD.l - PAD.r}" height="${y3(2.5) - y3(4)}" fill="#1f77b4" opacity="0.08"/>`,
      `<line x1="${PAD.l}" y1="${y3(1.5)}" x2="${W - PAD.r}" y2="${y3(1.5)}" stroke="#d62728" stroke-dasharray="2,2"/><text x="${W - PAD.r}" y="${y3(1.5) + 11}" text-anchor="end" font-size="9" fill="#d62728">p99 goal ≤ 1.5</text>`,
      `<text x="${W - PAD.r}" y="${y3(2.5) - 3}" text-anchor="end" font-size="9" fill="#1f77b4">rows/s goal ≥ 2.5</text>`,
      polyline(curve.map((r) => [px(r.library.pauseFactor), y3(Math.min(4, r.rowsPerSecond.median / reference.rowsPerSecond.median))]), '#1f77b4'),
      polyline(curve.map((r) => [px(r.library.pauseFactor), y3(Math.min(4, r.ratio))]), '#d62728', true),
    ];
    panels.push(panel(W * 2, 'Cleanup: pause factor trade-off', [0, 0.1, 0.2, 0.35, 0.5].map((v) => [px(v), String(v)]), [0, 1, 2, 3, 4].map((v) => [y3(v), `${v}×`]), body3));
  }

  const legend = PATHS.map(([, name, color], i) => `<rect x="${10 + i * 190}" y="${H + 4}" width="12" height="4" fill="${color}"/><text x="${26 + i * 190}" y="${H + 10}" font-size="10">${name}</text>`);
  legend.push(`<text x="10" y="${H + 26}" font-size="10">Cleanup panel: blue = rows/s ÷ the SKIP LOCKED form, red dashed = refresh p99 during ÷ idle (section 4). Working set: cycles through the tokens, default cache bounds.</text>`);
  const width = W * panels.length;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H + 34}" font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" fill="#fff"/>\n${panels.join('\n')}\n${legend.join('\n')}\n</svg>`;
}

/** What the server did during the purge (bench/cleanup.mjs watchServer): WAL per row, checkpoints, and where slow batches fell. */
function serverBesidePurge(run) {
  const server = run.server?.[0];
  if (!server) return '';
  const slow = server.slowBatches ?? [];
  const inSync = slow.filter((b) => b.duringCheckpoint && b.msBeforeComplete !== null && b.msBeforeComplete <= 500).length;
  return (
    ` The server meanwhile: ${fmt(server.walBytesPerRow)} bytes of WAL per deleted row, ${server.checkpointsRequested} checkpoint(s) asked for by WAL volume ` +
    `(\`max_wal_size\` reached) and ${server.checkpointsTimed} on schedule; ` +
    (slow.length ? `of the ${slow.length} batch(es) over 50 ms, ${inSync} ended in the last half second of a checkpoint (its flush of every file it wrote).` : 'no batch over 50 ms.')
  );
}
