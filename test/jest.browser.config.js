// `npm run test:browser`: the sample page in Debian's Chromium, driven by playwright-core, on the
// embedded engine (or DATABASE_URL). Needs /usr/bin/chromium (`.ci/run` installs it).
const base = require('./jest.base');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
  globalSetup: '<rootDir>/test/setup/global-setup.js',
  globalTeardown: '<rootDir>/test/setup/global-teardown.js',
  maxWorkers: 1,
  testTimeout: 60_000,
};
