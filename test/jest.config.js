// `npm test`: the engine-agnostic suite. Without DATABASE_URL it starts the embedded engine
// (one backend, so one worker); with DATABASE_URL it runs against that server.
const base = require('./jest.base');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  globalSetup: '<rootDir>/test/setup/global-setup.js',
  globalTeardown: '<rootDir>/test/setup/global-teardown.js',
  maxWorkers: 1,
};
