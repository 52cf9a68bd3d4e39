// BENCHMARKS.md §8: sessions bound to a device key (bench/bound-sessions.mjs, part "bound").
const fmt = (n, d = 0) => Number(n).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const span = (r, f = (x) => fmt(x, 2)) => (r.min === r.max ? f(r.median) : `${f(r.median)} (${f(r.min)}–${f(r.max)})`);

/** The section's lines; `note` says where the figures came from when not from the full run. */
export function boundSection(results, note) {
  const lines = ['## 8. Device-bound sessions: DPoP and DBSC (`bench/bound-sessions.mjs`)', ''];
  const { dpop, dbsc } = results;
  if (!dpop || !dbsc) return [...lines, 'Not measured in this run.', ''];
  if (note) lines.push(note, '');
  lines.push(
    'One sample server (strict mode with its caches, `SESSION_DPOP=allowed`, `SESSION_DBSC=on`), the two forms of each interleaved round by round. ' +
      'A DPoP-bound `GET /whoami` carries `Authorization: DPoP` and a fresh ES256 proof (made with node:crypto before the run, each used once by wrk), which the guard verifies and whose id it spends in the shared store; the bearer `GET` is the same route with a plain token from the verified-token cache. ' +
      'A DBSC refresh answers the last challenge with a proof of the browser key and then rotates the refresh cookie; the plain refresh is the cookie route with its CSRF header. 16 clients each.',
    '',
    '| figure | rate, median (min–max) | p99 ms | ratio (same round) | goal |',
    '| --- | --- | --- | --- | --- |',
    `| bearer GET | ${span(dpop.bearer.rate, fmt)} req/s | ${span(dpop.bearer.p99, (x) => fmt(x, 1))} | | |`,
    `| DPoP-bound GET | ${span(dpop.dpop.rate, fmt)} req/s | ${span(dpop.dpop.p99, (x) => fmt(x, 1))} | ${span(dpop.ratio)}× | ≥ 0.6×: ${dpop.ratio.median >= 0.6 ? 'met' : '**missed**'} |`,
    `| plain cookie refresh | ${span(dbsc.plain.rate, fmt)}/s | ${span(dbsc.plain.p99, (x) => fmt(x, 1))} | | |`,
    `| DBSC refresh | ${span(dbsc.dbsc.rate, fmt)}/s | ${span(dbsc.dbsc.p99, (x) => fmt(x, 1))} | ${span(dbsc.ratio)}× | ≥ 0.8×: ${dbsc.ratio.median >= 0.8 ? 'met' : '**missed**'} |`,
    '',
    'Where a DPoP request\'s time goes: the proof\'s ECDSA verification (about 90 µs with the key parsed once per client; jose\'s embedded-JWK path cost about 540 µs, which put the first measurement at 0.31×) and the write of its id to the shared store, which concurrent requests share in one statement (a group commit: 0.44× with one write per request). A DBSC refresh adds one signature check (the key stored with the session) to the rotation. The bearer route\'s p99 is wrk\'s 64 connections queueing on a saturated one-CPU server that answers half as many again, not a latency to compare.',
    '',
  );
  return lines;
}
