// What a guard decision's metric costs on the CPU, with the SDK registered: the library's tally
// (an increment, reported at collection) beside a synchronous counter.add with the same attributes
// (what the SDK does per call: it hashes the attribute set). Run by bench/telemetry-overhead.mjs;
// prints one JSON line.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const { metrics } = require('@opentelemetry/api');
const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');

class Reader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new Reader()] }));
const { SessionTelemetry } = require(join(ROOT, 'dist/apps/sample/libs/session/src/telemetry/session-telemetry.js'));
const telemetry = new SessionTelemetry();
const counter = metrics.getMeter('bench').createCounter('bench.sync.counter');
const attributes = { outcome: 'allowed', cache: 'hit' };
const N = 5_000_000;

function nsPerCall(f) {
  for (let i = 0; i < 1_000_000; i++) f();
  const started = process.hrtime.bigint();
  for (let i = 0; i < N; i++) f();
  return Number(process.hrtime.bigint() - started) / N;
}

const rounds = Array.from({ length: 5 }, () => ({ tally: nsPerCall(() => telemetry.guardDecided('hit', null)), syncCounter: nsPerCall(() => counter.add(1, attributes)) }));
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(JSON.stringify({ measured: true, tallyNs: median(rounds.map((r) => r.tally)), syncCounterNs: median(rounds.map((r) => r.syncCounter)) }));
