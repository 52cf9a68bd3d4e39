// Renders the results of a soak run (three instances under injected faults) into a markdown
// page and four SVG line plots. Dependency-free so a saved results object can be re-rendered
// with plain Node, without the load driver or any install.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const W = 720;
const H = 300;
const M = { left: 64, right: 150, top: 34, bottom: 42 };
const NOT_MEASURED = 'not measured';
const CRITERIA = ['falseReuse0', 'no5xxOutsideFaults', 'lagP99Under1s', 'allInstancesBack'];

const isNum = (x) => typeof x === 'number' && Number.isFinite(x);
const fmt = (n, d = 0) => Number(n).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
// Figures may be null when a probe failed; the page should say so rather than print NaN.
const num = (x, d = 0) => (isNum(x) ? fmt(x, d) : NOT_MEASURED);
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
// A pipe inside a table cell would split the cell in GitHub markdown.
const cell = (s) => esc(s).replace(/\|/g, '\\|');
const metCell = (ok) => (ok === true ? 'met' : '**missed**');
// Every list in the results holds objects; a stray null should cost one point, not the report.
const arr = (x) => (Array.isArray(x) ? x.filter((e) => e && typeof e === 'object') : []);

// Fixed colours so the same status looks the same across runs; server failures are red.
const STATUS_COLORS = {
  200: '#2e7d32', 201: '#1565c0', 204: '#00838f', 401: '#ef6c00', 403: '#6a1b9a', 429: '#c99a00',
  '5xx': '#c62828', error: '#ff6f60',
};
const PALETTE = ['#1565c0', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f', '#8d6e63', '#5d6d7e', '#ad1457'];

// A string hash picks a colour for unexpected keys, so a status keeps its colour even when
// other statuses come and go between runs.
function hashColor(key) {
  let h = 0;
  for (const ch of String(key)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

function statusColor(key) {
  if (STATUS_COLORS[key]) return STATUS_COLORS[key];
  if (/^5\d\d$/.test(key)) return '#e53935';
  return hashColor(key);
}

// Numeric codes first, then the aggregated 5xx, then network errors, so the legend reads in order.
function statusOrder(a, b) {
  const rank = (k) => (/^\d+$/.test(k) ? Number(k) : k === '5xx' ? 1000 : k === 'error' ? 1001 : 1002);
  return rank(a) - rank(b) || a.localeCompare(b);
}

/** A step of 1, 2 or 5 × 10^n giving roughly `target` ticks over `range`. */
function niceStep(range, target = 5) {
  if (!(range > 0)) return 1;
  const raw = range / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

const tickDecimals = (step) => Math.max(0, -Math.floor(Math.log10(step)));

/**
 * One SVG line chart. Points with a null y break the line instead of being bridged, so a
 * missing scrape does not draw a fake trend. Bands (fault windows) are drawn first so the
 * lines stay readable on top of them.
 */
export function lineChart({ title, yLabel, series = [], bands = [], xMax, hLines = [] }) {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const valid = (p) => p && isNum(p.x) && isNum(p.y);
  const pts = series.flatMap((s) => arr(s.points).filter(valid));
  const empty = pts.length === 0;
  const xTop = Math.max(isNum(xMax) ? xMax : 0, ...pts.map((p) => p.x)) || 1;
  const yData = Math.max(0, ...pts.map((p) => p.y), ...hLines.filter((l) => isNum(l.y)).map((l) => l.y));
  // Headroom keeps the top line off the frame; an all-zero chart still gets a 0–1 axis.
  const yRange = yData > 0 ? yData * 1.05 : 1;
  const yStep = niceStep(yRange);
  const yTop = Math.ceil(yRange / yStep) * yStep;
  const xStep = niceStep(xTop, 6);
  const X = (v) => +(M.left + (Math.min(Math.max(v, 0), xTop) / xTop) * pw).toFixed(1);
  const Y = (v) => +(M.top + ph - (Math.min(Math.max(v, 0), yTop) / yTop) * ph).toFixed(1);

  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${M.left + pw / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const b of arr(bands)) {
    if (!isNum(b?.from) || !isNum(b?.to) || b.to < b.from || b.from > xTop) continue;
    const x1 = X(b.from);
    out.push(`<rect x="${x1}" y="${M.top}" width="${Math.max(1, X(b.to) - x1)}" height="${ph}" fill="#9e9e9e" fill-opacity="0.22"/>`);
  }
  const yd = tickDecimals(yStep);
  for (let i = 0, v = 0; v <= yTop + yStep / 1e6; v = ++i * yStep) {
    out.push(`<line x1="${M.left}" y1="${Y(v)}" x2="${M.left + pw}" y2="${Y(v)}" stroke="#e6e6e6"/>`);
    out.push(`<text x="${M.left - 6}" y="${Y(v) + 4}" text-anchor="end" fill="#555">${fmt(v, yd)}</text>`);
  }
  const xd = tickDecimals(xStep);
  for (let i = 0, v = 0; v <= xTop + xStep / 1e6; v = ++i * xStep) {
    out.push(`<line x1="${X(v)}" y1="${M.top + ph}" x2="${X(v)}" y2="${M.top + ph + 4}" stroke="#555"/>`);
    out.push(`<text x="${X(v)}" y="${M.top + ph + 16}" text-anchor="middle" fill="#555">${fmt(v, xd)}</text>`);
  }
  out.push(`<path d="M${M.left} ${M.top}V${M.top + ph}H${M.left + pw}" fill="none" stroke="#555"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 8}" text-anchor="middle" fill="#333">seconds from start</text>`);
  out.push(`<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle" fill="#333">${esc(yLabel)}</text>`);

  for (const l of hLines) {
    if (!isNum(l.y)) continue;
    out.push(`<line x1="${M.left}" y1="${Y(l.y)}" x2="${M.left + pw}" y2="${Y(l.y)}" stroke="${l.color ?? '#444'}" stroke-dasharray="6 4"/>`);
    if (l.label) out.push(`<text x="${M.left + pw - 4}" y="${Y(l.y) - 4}" text-anchor="end" fill="${l.color ?? '#444'}">${esc(l.label)}</text>`);
  }
  for (const s of series) {
    const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
    for (const run of runs(arr(s.points))) {
      if (run.length === 1) {
        out.push(`<circle cx="${X(run[0].x)}" cy="${Y(run[0].y)}" r="2.5" fill="${s.color}"/>`);
      } else {
        const d = run.map((p) => `${X(p.x)},${Y(p.y)}`).join(' ');
        out.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"${dash}/>`);
      }
    }
  }
  if (empty) {
    out.push(`<text x="${M.left + pw / 2}" y="${M.top + ph / 2}" text-anchor="middle" font-size="16" fill="#888">no data</text>`);
  }

  const legend = series.map((s) => ({ name: s.name, color: s.color, dashed: s.dashed }));
  if (arr(bands).length) legend.push({ name: 'fault window', band: true });
  const lx = M.left + pw + 14;
  legend.forEach((e, i) => {
    const y = M.top + 8 + i * 17;
    out.push(e.band
      ? `<rect x="${lx}" y="${y - 6}" width="20" height="12" fill="#9e9e9e" fill-opacity="0.22"/>`
      : `<line x1="${lx}" y1="${y}" x2="${lx + 20}" y2="${y}" stroke="${e.color}" stroke-width="2"${e.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    out.push(`<text x="${lx + 26}" y="${y + 4}">${esc(e.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Splits points into runs of consecutive measured values, sorted by x. */
function runs(points) {
  const sorted = points.filter((p) => p && isNum(p.x)).sort((a, b) => a.x - b.x);
  const out = [];
  let cur = [];
  for (const p of sorted) {
    if (isNum(p.y)) {
      cur.push(p);
    } else if (cur.length) {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

function plots(r) {
  const bands = arr(r.faults).map((f) => ({ from: f?.startS, to: f?.endS }));
  const xMax = isNum(r.seconds) ? r.seconds : undefined;
  const buckets = arr(r.buckets);
  const codes = [...new Set(buckets.flatMap((b) => Object.keys(b?.status ?? {})))].sort(statusOrder);
  // A bucket without a given status saw none of it, so it plots as 0, not as a gap.
  const requests = codes.map((code) => ({
    name: code, color: statusColor(code),
    points: buckets.map((b) => ({ x: b?.t, y: b?.status?.[code] ?? 0 })),
  }));
  const ms = (v) => (isNum(v) ? v * 1000 : null);
  const lag = [
    { name: 'p50', color: '#1565c0', points: arr(r.revocationLag).map((p) => ({ x: p?.t, y: ms(p?.p50) })) },
    { name: 'p99', color: '#c62828', points: arr(r.revocationLag).map((p) => ({ x: p?.t, y: ms(p?.p99) })) },
  ];
  const instances = [...new Set(arr(r.rss).map((p) => String(p?.instance)))].sort();
  // A null at each kill breaks the line, so the restarted process is not joined to the dead one.
  const kills = (name) => arr(r.restarts).filter((x) => String(x?.instance) === name).map((x) => ({ x: x.killedAtS, y: null }));
  const rss = instances.map((name, i) => ({
    name, color: PALETTE[i % PALETTE.length],
    points: [...arr(r.rss).filter((p) => String(p?.instance) === name).map((p) => ({ x: p.t, y: p.mib })), ...kills(name)],
  }));
  const conns = [{ name: 'connections', color: '#00838f', points: arr(r.dbConnections).map((p) => ({ x: p?.t, y: p?.n })) }];
  return {
    'requests.svg': lineChart({ title: 'Requests per 10 s by status', yLabel: 'requests', series: requests, bands, xMax }),
    'lag.svg': lineChart({
      title: 'Revocation lag', yLabel: 'ms', series: lag, bands, xMax,
      hLines: [{ y: 1000, label: '1 s bound', color: '#444' }],
    }),
    'rss.svg': lineChart({ title: 'Resident memory per instance', yLabel: 'RSS (MiB)', series: rss, bands, xMax }),
    'connections.svg': lineChart({ title: 'Database connections', yLabel: 'connections', series: conns, bands, xMax }),
  };
}

const KIND_NAMES = { rest: 'REST', graphql: 'GraphQL', refresh: 'refresh', login: 'login', logout: 'logout' };

function mixText(requests) {
  const byKind = Object.entries(requests?.byKind ?? {}).filter(([, n]) => isNum(n) && n > 0);
  const sum = byKind.reduce((a, [, n]) => a + n, 0);
  if (!sum) return 'the request mix was not measured';
  const parts = byKind.sort((a, b) => b[1] - a[1]).map(([k, n]) => {
    const pct = (n / sum) * 100;
    return `${fmt(pct, pct < 1 ? 1 : 0)}% ${esc(KIND_NAMES[k] ?? k)}`;
  });
  const total = isNum(requests?.total) ? requests.total : sum;
  return `the mix was ${parts.join(', ')} of ${fmt(total)} requests`;
}

// Backticks in the command would end the code span early; a longer fence keeps it intact.
function codeSpan(s) {
  const text = String(s ?? '').replace(/\s*\n\s*/g, ' ').trim();
  if (!text) return NOT_MEASURED;
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  return longest ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
}

function restartsText(restarts) {
  if (!restarts.length) return 'no restarts recorded';
  return restarts
    .map((x) => `${x?.instance}: killed at ${num(x?.killedAtS)} s, ${isNum(x?.backInServiceAtS) ? `back at ${fmt(x.backInServiceAtS)} s` : 'never back'}`)
    .join('; ');
}

// A table rather than a sentence, so a count that was not measured still reads naturally.
function chainsTable(c = {}) {
  const ended = Object.entries(c.endedWithCode ?? {}).sort(([a], [b]) => statusOrder(a, b));
  return [
    '| Refresh chains | Count |', '| --- | ---: |',
    `| Users | ${num(c.users)} |`,
    `| Chains (a login starts one) | ${num(c.chains)} |`,
    `| Continued to the end of the run, or ended by the user's logout | ${num(c.continued)} |`,
    ...ended.map(([code, n]) => `| Ended with ${cell(code)} | ${num(n)} |`),
    `| Broken (ended without a stable error code) | ${num(c.broken)} |`,
    `| Left on the previous secret by a lost rotation answer | ${num(c.lostAnswers)} |`,
  ];
}

/**
 * Writes the soak page to `markdownPath` and the four plots into `plotDir`, which the page
 * links through `plotHref` (a path relative to the page).
 * @returns {{ passed: boolean, lines: string[] }}
 */
export function writeSoakReport(results, { markdownPath, plotDir, plotHref }) {
  const r = results ?? {};
  const v = r.verdict ?? {};
  const passed = CRITERIA.every((k) => v[k] === true) && Object.values(v).every((x) => x === true);
  const href = String(plotHref ?? '').replace(/\/+$/, '');
  const fiveXx = r.fiveXx ?? {};
  const lines = ['# Soak', ''];
  lines.push(
    `Run started ${esc(r.startedAt ?? NOT_MEASURED)}: ${num(r.instances)} app instances behind HAProxy, one PostgreSQL server, ` +
      `a Redis bus between the instances and Prometheus scraping each of them. ${num(r.users)} simulated users aimed at ` +
      `${num(r.rate)} requests/s for ${num(r.seconds)} s; ${mixText(r.requests)}. Command: ${codeSpan(r.command)}.`,
    '',
  );
  lines.push('## Verdict', '', '| Criterion | Figure | Result |', '| --- | --- | --- |');
  lines.push(
    `| 0 false reuse | ${isNum(r.falseReuse) ? `${fmt(r.falseReuse)} sessions revoked as reuse_detected that nothing explains` : NOT_MEASURED}` +
      `${isNum(r.reuseAfterLostAnswer) ? `; ${fmt(r.reuseAfterLostAnswer)} after a lost rotation answer (the retry got the grace answer, no new refresh token, and the window passed)` : ''} | ${metCell(v.falseReuse0)} |`,
  );
  lines.push(`| 0 5xx outside fault windows | outside ${num(fiveXx.outside)}; inside ${num(fiveXx.inside)} (5xx responses and network errors) | ${metCell(v.no5xxOutsideFaults)} |`);
  lines.push(`| Revocation lag p99 ≤ 1 s | ${isNum(r.lagP99) ? `${fmt(r.lagP99, 3)} s` : NOT_MEASURED} | ${metCell(v.lagP99Under1s)} |`);
  lines.push(`| Every instance back in service after its restart (HAProxy sends it traffic, its revocation listener is up), every listener up at the end | ${cell(restartsText(arr(r.restarts)))} | ${metCell(v.allInstancesBack)} |`);
  const probes = r.probes ?? {};
  lines.push(
    `| A logout on one instance refused on the other two within 1 s, outside fault windows (end-to-end probes every 5 s: lost messages show here, not in the lag histogram) | ` +
      `${isNum(probes.outside) ? `${fmt(probes.outside)} probes outside, slowest ${isNum(probes.slowestOutsideMs) ? `${fmt(probes.slowestOutsideMs)} ms` : NOT_MEASURED}, ${fmt(probes.lateOutside ?? 0)} late; ${fmt(probes.inside ?? 0)} inside, slowest ${isNum(probes.slowestInsideMs) ? `${fmt(probes.slowestInsideMs)} ms` : 'none'}; ${fmt(probes.skipped ?? 0)} skipped (their instance was down)` : NOT_MEASURED} | ${metCell(v.revocationReachesAll)} |`,
  );
  const chains = r.refreshChains ?? {};
  lines.push(`| Every refresh chain continues, ends with its user's logout, or ends as explained reuse | ${isNum(chains.unexpected) ? `${fmt(chains.unexpected)} unexpected endings, ${fmt(chains.broken ?? 0)} broken` : NOT_MEASURED} | ${metCell(v.chainsEndAsExpected)} |`);
  lines.push('', passed ? 'Every criterion met.' : '**At least one criterion missed.**', '');

  lines.push('## Faults', '');
  const faults = arr(r.faults);
  if (faults.length) {
    lines.push('| Kind | Window (s) | Detail |', '| --- | --- | --- |');
    for (const f of faults) lines.push(`| ${cell(f?.kind ?? '')} | ${num(f?.startS)}–${num(f?.endS)} | ${cell(f?.detail ?? '')} |`);
  } else {
    lines.push('No faults were injected.');
  }
  lines.push('', '## Refresh chains', '', ...chainsTable(r.refreshChains ?? {}), '');

  const figures = [
    ['requests.svg', 'Requests per 10 s by status', 'Responses per 10-second bucket by status; grey bands are fault windows.'],
    ['lag.svg', 'Revocation lag', 'Revocation lag p50 and p99 in milliseconds from Prometheus; the dashed line is the 1 s bound.'],
    ['rss.svg', 'Resident memory per instance', 'Resident set size of each instance in MiB; a restarted instance starts a fresh line.'],
    ['connections.svg', 'Database connections', 'Open connections on the PostgreSQL server.'],
  ];
  lines.push('## Plots', '');
  for (const [file, alt, caption] of figures) lines.push(`![${alt}](${href ? `${href}/` : ''}${file})`, '', caption, '');

  mkdirSync(plotDir, { recursive: true });
  for (const [file, svg] of Object.entries(plots(r))) writeFileSync(join(plotDir, file), svg);
  mkdirSync(dirname(markdownPath), { recursive: true });
  writeFileSync(markdownPath, lines.join('\n').replace(/\n+$/, '') + '\n');
  return { passed, lines };
}
