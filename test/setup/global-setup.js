// Starts the embedded Postgres in a child process unless DATABASE_URL names a server. The engine
// lives outside the Jest workers: PGlite is ESM with WASM, and a separate process is what a
// deployment looks like anyway.
const { spawn } = require('node:child_process');
const path = require('node:path');

module.exports = async function globalSetup() {
  if (process.env.DATABASE_URL) {
    if (process.env.NS_TEST_VERBOSE === '1') console.log(`\n[test] database: the server at DATABASE_URL`);
    return;
  }
  const script = path.join(__dirname, '..', '..', 'scripts', 'embedded-postgres.mjs');
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error('the embedded Postgres did not start within 60 s')), 60_000);
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      const line = buffer.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line).url);
      }
    });
    child.on('exit', (code) => reject(new Error(`the embedded Postgres exited with code ${code}`)));
  });
  globalThis.__EMBEDDED_POSTGRES__ = child;
  process.env.DATABASE_URL = url;
  process.env.DATABASE_POOL_SIZE = '1';
  process.env.NS_TEST_ENGINE = 'embedded';
  if (process.env.NS_TEST_VERBOSE === '1') console.log(`\n[test] database: embedded Postgres (PGlite) at ${url}`);
};
