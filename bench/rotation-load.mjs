// Raw refresh rotations (BEGIN, SELECT … FOR UPDATE, UPDATE, COMMIT) from 16 clients, each on its
// own session, in a process of its own so the measurement does not share an event loop with
// what it measures. Runs until SIGTERM, then prints one JSON line: count, p50, p99 (ms).
import { createRequire } from 'node:module';
import { createHmac, randomBytes } from 'node:crypto';

const require = createRequire(import.meta.url);
const { Client } = require('pg');
const ids = process.env.BENCH_SESSION_IDS.split(',');
const latencies = [];
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
    while (running) {
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
    }
  }),
);
await Promise.all(clients.map((c) => c.end()));
latencies.sort((a, b) => a - b);
const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
process.stdout.write(`${JSON.stringify({ count: latencies.length, p50: at(50), p99: at(99) })}\n`);
