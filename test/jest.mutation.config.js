// `npm run test:mutation` (StrykerJS, stryker.config.mjs): the tests that exercise the mutated
// files (tokens, guards, SessionService), on Express only. A surviving mutant of the request path
// costs a run of every test that covers it, in every file that holds one, each file booting the
// app again: with a dozen e2e files, a run took well over an hour and a half on the shared two
// cores. So the unit specs and four e2e files that test the guards and the session's life end
// to end. Left out as too costly for what they add: token-mutations (the unit specs check each
// token check directly), parsers (10,000 runs per property, per mutant), and concurrency,
// revocation, cookies, stateless, guard-extension, signing-keys and secret-rotation.
// Runs on its own too (`npx jest --config test/jest.mutation.config.js`): the way to check that
// the set is green before Stryker's dry run insists on it.
const path = require('node:path');
const base = require('./jest.base');

const rootDir = path.resolve(__dirname, base.rootDir);

module.exports = {
  ...base,
  rootDir,
  displayName: 'express',
  // The same engine as `npm test`; stryker.config.mjs swaps in a setup that keeps one engine per
  // Stryker worker, because Stryker calls Jest once per mutant in the same process.
  globalSetup: '<rootDir>/test/setup/global-setup.js',
  globalTeardown: '<rootDir>/test/setup/global-teardown.js',
  maxWorkers: 1,
  testMatch: [
    '<rootDir>/libs/session/src/tokens/*.spec.ts',
    '<rootDir>/libs/session/src/guards/*.spec.ts',
    ...['access-token', 'csrf', 'session-lifecycle', 'expiry'].map((name) => `<rootDir>/test/${name}.e2e-spec.ts`),
  ],
};
