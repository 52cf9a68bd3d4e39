// BENCHMARKS.md §9: the guarded GET with OpenTelemetry off and on (bench/telemetry-overhead.mjs, part "telemetry").
const fmt = (n, d = 0) => Number(n).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const span = (r, f = (x) => fmt(x, 2)) => (r.min === r.max ? f(r.median) : `${f(r.median)} (${f(r.min)}–${f(r.max)})`);

/** The section's lines; `note` says where the figures came from when not from the full run. */
export function telemetrySection(results, note) {
  const lines = ['## 9. Instrumentation: metrics off and on (`bench/telemetry-overhead.mjs`)', ''];
  const t = results.telemetry;
  if (!t) return [...lines, 'Not measured in this run.', ''];
  // runJsonChild's answer: { measured, data } when the child printed its figures.
  const micro = t.micro?.data ?? null;
  if (note) lines.push(note, '');
  lines.push(
    'Four sample servers, interleaved round by round: strict mode with its caches and stateless mode, each with OpenTelemetry off (no SDK: the library\'s calls are no-ops) ' +
      `and on (\`METRICS_PORT\`: the SDK's MeterProvider with the Prometheus reader and the \`pg\` instrumentation, scraped every ${fmt(t.scrapeEveryMs / 1000)} s during the runs: ` +
      `${fmt(t.scrapes.withLibraryMetrics)} of ${fmt(t.scrapes.made)} scrapes carried the library's metrics). Each guarded \`GET /whoami\` is a ratio to the unguarded route of its own server, so the SDK's cost on every request cancels out and what is left is the guard's own instrumentation.`,
    '',
    '| mode | guarded / unguarded, metrics off | guarded / unguarded, metrics on | on / off | goal |',
    '| --- | --- | --- | --- | --- |',
    `| strict + cache | ${span(t.strict.off)} | ${span(t.strict.on)} | ${span(t.strict.onToOff, (x) => fmt(x, 3))}× | ≥ 0.95×: ${t.strict.onToOff.median >= 0.95 ? 'met' : '**missed**'} |`,
    `| stateless | ${span(t.stateless.off)} | ${span(t.stateless.on)} | ${span(t.stateless.onToOff, (x) => fmt(x, 3))}× | ≥ 0.95×: ${t.stateless.onToOff.median >= 0.95 ? 'met' : '**missed**'} |`,
    '',
    `Rates (req/s, median): strict off ${fmt(t.rps.offStrict.median)}, on ${fmt(t.rps.onStrict.median)}; unguarded off ${fmt(t.rps.offUnguarded.median)}, on ${fmt(t.rps.onUnguarded.median)}. ` +
      'These ratios move by ±10 % from round to round on this machine, far more than the instrumentation can cost, so the CPU cost of one decision\'s metric is measured apart (`bench/telemetry-micro.mjs`, SDK registered, median of 5 × 5 million calls): ' +
      (micro
        ? `**${fmt(micro.tallyNs, 1)} ns** for the guard's tally (an increment; the SDK reads the totals when it collects) against ${fmt(micro.syncCounterNs, 0)} ns for a synchronous \`counter.add\` with the same attributes (the SDK hashes the attribute set on every call), about ${fmt((micro.tallyNs / 1e9) * t.rps.offStrict.median * 100, 4)} % of a CPU-second at the measured rate. `
        : `not measured (${t.micro?.error ?? 'no figure'}). `) +
      'Only decisions the caches did not answer alone are timed (a histogram record beside a database read).',
    '',
  );
  return lines;
}
