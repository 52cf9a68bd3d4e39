// Stryker's Jest runner calls Jest once per mutant inside one long-lived worker process, and
// Jest runs globalSetup and globalTeardown on every call. global-setup.js leaves DATABASE_URL in
// process.env, so after the first global-teardown.js the next call would find the URL of a
// stopped engine and start none; a fresh engine per call would cost about 9 s per mutant. So one
// engine per worker: started by the first call, reused while it lives. stryker.config.mjs drops
// the teardown; Stryker ends each worker by killing its process tree, the engine with it.
const globalSetup = require('./global-setup');

module.exports = async function mutationGlobalSetup() {
  const engine = globalThis.__EMBEDDED_POSTGRES__;
  if (engine && engine.exitCode === null && engine.signalCode === null) return;
  // The engine this worker started has died (a mutant can crash it): start another.
  if (process.env.NS_TEST_ENGINE === 'embedded') delete process.env.DATABASE_URL;
  await globalSetup();
};
