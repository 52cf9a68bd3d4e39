// Mutation testing of the security core: `npm run test:mutation`. Not part of `npm test` or CI
// (it takes tens of minutes); docs/security.md, "Mutation testing", has the latest figures.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [
    'libs/session/src/tokens/*.ts',
    '!libs/session/src/tokens/*.spec.ts',
    'libs/session/src/guards/*.ts',
    'libs/session/src/session.service.ts',
  ],
  testRunner: 'jest',
  jest: {
    projectType: 'custom',
    configFile: 'test/jest.mutation.config.js',
    config: {
      // Jest runs its global hooks on every call, and Stryker calls it once per mutant in one
      // worker: keep one engine per worker instead (see the setup file).
      globalSetup: '<rootDir>/test/setup/mutation-global-setup.js',
      globalTeardown: null,
      // A mutant's run loads only the test files that hold its tests (see the environment file):
      // without this, every run loads every e2e spec, and the whole run takes hours.
      // Stryker resolves the environment itself, from the sandbox, without Jest's <rootDir>.
      testEnvironment: './test/setup/mutation-environment.js',
      testSequencer: '<rootDir>/test/setup/mutation-sequencer.js',
      runner: '<rootDir>/test/setup/mutation-runner.js',
    },
  },
  // Each mutant runs only the tests that reached it in the dry run.
  coverageAnalysis: 'perTest',
  // Code that runs only outside a test (module load, and app boot in beforeAll, which Stryker's
  // Jest environment cannot attribute to a test) would cost a run of every test per mutant, hours
  // in all; such mutants are reported as Ignored. Code also reached inside a test still runs.
  ignoreStatic: true,
  // One worker: the machine has two cores shared with other test runs.
  concurrency: 1,
  // A busy machine makes honest runs slow; a mutant is only a timeout well past its tests' own time.
  timeoutMS: 20_000,
  // Only what the tests load; node_modules is symlinked into the sandbox, not copied.
  ignorePatterns: ['/dist', '/bench', '/docs', '/coverage', '/.ci', '/.data', '/test-output', '/test/browser', '/test/package', '/test/server'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { reportTests: false, logTests: false, allowColor: false },
};
