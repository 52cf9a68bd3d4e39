// Raw refresh rotations (BEGIN, SELECT … FOR UPDATE, UPDATE, COMMIT) from 16 clients, each on its
// own session, in a process of its own so the measurement does not share an event loop with
// what it measures. Paced at BENCH_ROTATION_RATE rotations/s in all (default 400: steady refresh
// traffic, not a saturating flood, so the purge is measured beside traffic rather than against
// a machine already at 100 %). Runs until SIGTERM, then prints one JSON line: count, rate, p50,
// p99 (ms), and writes every rotation as [start, latency] (epoch ms, ms) to BENCH_LATENCIES when
// set, so the caller can keep those that started inside its window (no connection warm-up) and
// pool them over rounds.
import { createRequire } from 'node:module';
import { createHmac, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const { Client } = require('pg');
const ids = process.env.BENCH_SESSION_IDS.split(',');
const latencies = [];
const samples = [];
const perClientInterval = (1000 * ids.length) / Number(process.env.BENCH_ROTATION_RATE ?? 400);
const startedAt = performance.now();
let running = true;
process.on('SIGTERM', () => (running = false));

const clients = await Promise.all(
  ids.map(async () => {
    const client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    return client;
  }),
);
process.stdout.write('ready\n');
await Promise.all(
  clients.map(async (client, i) => {
    let next = performance.now() + Math.random() * perClientInterval;
    while (running) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      next += perClientInterval;
      if (!running) break;
      const startedEpoch = Date.now();
      const t0 = performance.now();
      await client.query('BEGIN');
      const { rows } = await client.query('SELECT generation FROM auth_sessions WHERE id = $1 FOR UPDATE', [ids[i]]);
      const hash = createHmac('sha256', 'pepper').update(randomBytes(32)).digest();
      await client.query(
        'UPDATE auth_sessions SET previous_hashes = (array_prepend(secret_hash, previous_hashes))[1:32], secret_hash = $2, generation = $3 + 1, rotated_at = now() WHERE id = $1',
        [ids[i], hash, rows[0].generation],
      );
      await client.query('COMMIT');
      latencies.push(performance.now() - t0);
      samples.push([startedEpoch, latencies.at(-1)]);
    }
  }),
);
await Promise.all(clients.map((c) => c.end()));
latencies.sort((a, b) => a - b);
if (process.env.BENCH_LATENCIES) writeFileSync(process.env.BENCH_LATENCIES, JSON.stringify(samples));
const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
const seconds = (performance.now() - startedAt) / 1000;
process.stdout.write(`${JSON.stringify({ count: latencies.length, rate: latencies.length / seconds, p50: at(50), p99: at(99) })}\n`);
