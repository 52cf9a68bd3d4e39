// `npm start`: the sample app, on DATABASE_URL when it is set, otherwise on the embedded engine
// with its data in .data/pglite (git-ignored; delete the folder to start afresh).
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { startEmbeddedPostgres } from './embedded-postgres.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.env.NODE_ENV ??= 'development';

if (!process.env.DATABASE_URL) {
  const engine = await startEmbeddedPostgres({ dataDir: join(root, '.data', 'pglite') });
  process.env.DATABASE_URL = engine.url;
  process.env.DATABASE_POOL_SIZE = '1';
  console.log('Database: embedded Postgres (PGlite), data in .data/pglite');
}

const require = createRequire(import.meta.url);
const { bootstrap } = require(join(root, 'dist/apps/sample/apps/sample/src/main.js'));
await bootstrap();
