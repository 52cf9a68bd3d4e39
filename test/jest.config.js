// `npm test`: the engine-agnostic suite. Without DATABASE_URL it starts the embedded engine
// (one backend, so one worker); with DATABASE_URL it runs against that server.
// Two projects: everything on Express, and the HTTP-facing suites again on Fastify.
const path = require('node:path');
const base = require('./jest.base');

// jest.base's rootDir ('..') is relative to this folder; inside `projects` Jest would resolve it
// against the top-level rootDir instead, so every level gets the absolute path. `testTimeout` is
// read from the top level only (a project's own is ignored), so it is repeated there.
const rootDir = path.resolve(__dirname, base.rootDir);

module.exports = {
  globalSetup: '<rootDir>/test/setup/global-setup.js',
  globalTeardown: '<rootDir>/test/setup/global-teardown.js',
  rootDir,
  testTimeout: base.testTimeout,
  maxWorkers: 1,
  projects: [
    {
      ...base,
      rootDir,
      displayName: 'express',
      testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
    },
    {
      ...base,
      rootDir,
      displayName: 'fastify',
      setupFiles: [...base.setupFiles, '<rootDir>/test/setup/fastify-adapter.js'],
      testMatch: [
        '<rootDir>/test/session-lifecycle.e2e-spec.ts',
        '<rootDir>/test/cookies.e2e-spec.ts',
        '<rootDir>/test/csrf.e2e-spec.ts',
        '<rootDir>/test/revocation.e2e-spec.ts',
        '<rootDir>/test/sample-app.e2e-spec.ts',
        '<rootDir>/test/openapi.e2e-spec.ts',
        '<rootDir>/test/token-mutations.e2e-spec.ts',
        '<rootDir>/test/session-or-api-key.e2e-spec.ts',
        '<rootDir>/test/dpop.e2e-spec.ts',
      ],
    },
  ],
};
