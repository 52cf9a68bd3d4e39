// `npm run bench`, part "telemetry": the guarded GET with OpenTelemetry off (no SDK: the library's
// calls are no-ops) and on (the sample's SDK with METRICS_PORT: a MeterProvider, the Prometheus
// reader, the pg instrumentation, and a scrape every 5 s during the runs), each as a ratio to the
// unguarded route of its own server, all interleaved round by round. Goal: the guarded request
// costs no more with metrics on, so the on ratio is ≥ 0.95× the off ratio (same round).
import { freePort } from '../scripts/free-port.mjs';
import { LOAD_CPUS, OUT, ROOT, ROUNDS, ROUND_WARMUP, SECONDS, WARMUP, fmt, log, pinSelf, pool, post, range, runJsonChild, startServer, stopServer, wrk } from './harness.mjs';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SESSIONS = 1000;
/** How often the metrics are scraped while wrk runs (Prometheus' default is 15 s; 5 s is harsher). */
const SCRAPE_MS = 5_000;

/** A Prometheus stand-in: scrapes each port every EVERY_MS, and on SIGTERM prints how many scrapes carried the library's metrics. */
const SCRAPER = `
let made = 0, withLibraryMetrics = 0;
const ports = process.env.PORTS.split(',');
setInterval(() => {
  for (const port of ports) {
    made += 1;
    fetch('http://127.0.0.1:' + port + '/metrics').then((r) => r.text()).then((t) => { if (t.includes('nest_sessions_guard_decisions_total')) withLibraryMetrics += 1; }, () => {});
  }
}, Number(process.env.EVERY_MS));
process.on('SIGTERM', () => { process.stdout.write(JSON.stringify({ made, withLibraryMetrics }) + '\\n'); process.exit(0); });
`;

/** Measures the four servers; writes results.telemetry. */
export async function benchTelemetry({ results, sampleMain, sampleEnv, email, password }) {
  log('telemetry: starting the sample with OpenTelemetry off and on (METRICS_PORT), strict + cache and stateless');
  const metricsPorts = { strict: await freePort(), stateless: await freePort() };
  const [offStrict, onStrict, offStateless, onStateless] = await Promise.all([
    startServer('telemetry-off-strict', sampleMain, sampleEnv),
    startServer('telemetry-on-strict', sampleMain, { ...sampleEnv, METRICS_PORT: String(metricsPorts.strict) }),
    startServer('telemetry-off-stateless', sampleMain, { ...sampleEnv, SESSION_REVOCATION: 'stateless' }),
    startServer('telemetry-on-stateless', sampleMain, { ...sampleEnv, SESSION_REVOCATION: 'stateless', METRICS_PORT: String(metricsPorts.stateless) }),
  ]);
  // In a process of its own: wrk runs synchronously here, which would hold this event loop's timers.
  const scraper = spawn(process.execPath, ['-e', SCRAPER], { env: { ...process.env, PORTS: Object.values(metricsPorts).join(','), EVERY_MS: String(SCRAPE_MS) }, stdio: ['ignore', 'pipe', 'inherit'] });
  let scraperOutput = '';
  scraper.stdout.on('data', (d) => (scraperOutput += d));
  try {
    const tokens = await pool(SESSIONS, 4, async () => {
      const res = await post(`${offStrict.url}/auth/login`, { email, password }, { 'x-session-transport': 'bearer' });
      if (res.status !== 200) throw new Error(`login ${res.status}`);
      return res.body.accessToken;
    });
    const file = join(OUT, 'tokens-telemetry.txt');
    writeFileSync(file, tokens.join('\n') + '\n');
    const target = (key, name, server, path) => ({ key, name, server, path, tokens: file, header: 'Authorization', prefix: 'Bearer ' });
    const targets = [
      target('offUnguarded', 'off, unguarded', offStrict, '/bench/unguarded'),
      target('offStrict', 'off, strict + cache', offStrict, '/whoami'),
      target('onUnguarded', 'on, unguarded', onStrict, '/bench/unguarded'),
      target('onStrict', 'on, strict + cache', onStrict, '/whoami'),
      target('offStatelessUnguarded', 'off, unguarded (stateless server)', offStateless, '/bench/unguarded'),
      target('offStateless', 'off, stateless', offStateless, '/whoami'),
      target('onStatelessUnguarded', 'on, unguarded (stateless server)', onStateless, '/bench/unguarded'),
      target('onStateless', 'on, stateless', onStateless, '/whoami'),
    ];
    log(`telemetry warm-up: ${WARMUP} s per route (not counted)`);
    for (const t of targets) wrk(t, Math.max(1, WARMUP));
    const rps = Object.fromEntries(targets.map((t) => [t.key, []]));
    pinSelf(LOAD_CPUS);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of targets) {
        if (ROUND_WARMUP > 0) wrk(t, ROUND_WARMUP);
        rps[t.key].push(wrk(t, SECONDS).rps);
        log(`telemetry round ${round}/${ROUNDS}: ${t.name}: ${fmt(rps[t.key].at(-1))} req/s`);
      }
    }
    pinSelf(null);
    const ratio = (a, b) => rps[a].map((x, i) => x / rps[b][i]);
    const onOff = (on, off) => range(on.map((x, i) => x / off[i]));
    const strictOff = ratio('offStrict', 'offUnguarded');
    const strictOn = ratio('onStrict', 'onUnguarded');
    const statelessOff = ratio('offStateless', 'offStatelessUnguarded');
    const statelessOn = ratio('onStateless', 'onStatelessUnguarded');
    const scrapes = await new Promise((resolve) => {
      scraper.once('exit', () => resolve(JSON.parse(scraperOutput.trim().split('\n').at(-1) || '{"made":0,"withLibraryMetrics":0}')));
      scraper.kill('SIGTERM');
    });
    log('telemetry: the CPU cost of one guard decision\'s metric (bench/telemetry-micro.mjs)');
    const micro = await runJsonChild(join(ROOT, 'bench/telemetry-micro.mjs'), [], {});
    results.telemetry = {
      micro,
      rps: Object.fromEntries(Object.entries(rps).map(([k, v]) => [k, range(v)])),
      strict: { off: range(strictOff), on: range(strictOn), onToOff: onOff(strictOn, strictOff) },
      stateless: { off: range(statelessOff), on: range(statelessOn), onToOff: onOff(statelessOn, statelessOff) },
      scrapes,
      scrapeEveryMs: SCRAPE_MS,
    };
    log(`telemetry: strict + cache ${fmt(results.telemetry.strict.onToOff.median, 3)}× with metrics on, stateless ${fmt(results.telemetry.stateless.onToOff.median, 3)}×`);
  } finally {
    if (scraper.exitCode === null) scraper.kill('SIGKILL');
    for (const s of [offStrict, onStrict, offStateless, onStateless]) stopServer(s);
  }
}
