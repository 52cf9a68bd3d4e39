// The embedded engine: PGlite (Postgres compiled to WASM) served over the Postgres wire protocol,
// so the app talks to it through the ordinary `pg` driver exactly as to a server. PGlite runs
// one backend: each client uses a pool of ONE connection and never opens a second while a
// transaction is open. Several clients may connect (two app instances in a test), but their
// statements are serialised on the one backend.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { mkdirSync } from 'node:fs';

/**
 * Starts an embedded Postgres on a free loopback port.
 * @param {{ dataDir?: string }} options `dataDir` keeps the data on disk; without it, in memory.
 * @returns {Promise<{ url: string, stop: () => Promise<void> }>}
 */
export async function startEmbeddedPostgres({ dataDir } = {}) {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir ? { dataDir } : undefined);
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 8 });
  await server.start();
  const url = `postgres://postgres@${server.getServerConn()}/postgres`;
  return {
    url,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

// Run directly (the test setup does): print the URL as one JSON line and serve until killed.
if (import.meta.url === `file://${process.argv[1]}`) {
  const engine = await startEmbeddedPostgres({ dataDir: process.argv[2] });
  process.stdout.write(`${JSON.stringify({ url: engine.url })}\n`);
  const stop = () => engine.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
}
