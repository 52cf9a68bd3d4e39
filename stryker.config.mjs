// Mutation testing of the security core: `npm run test:mutation`. Not part of `npm test` or CI;
// docs/security.md, "Mutation testing", has the latest figures per file.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ['libs/session/src/{tokens,guards,refresh}/*.ts', '!libs/session/src/**/*.spec.ts'],
  testRunner: 'jest',
  // The unit specs only (see the Jest config): each mutant runs the specs that reached it.
  jest: { projectType: 'custom', configFile: 'test/jest.mutation.config.js' },
  coverageAnalysis: 'perTest',
  // One worker: the machine has two cores shared with other test runs.
  concurrency: 1,
  // Unit specs run in milliseconds: a mutant still running seconds later is looping.
  timeoutMS: 3_000,
  // Only what the unit specs load; node_modules is symlinked into the sandbox, not copied.
  ignorePatterns: ['/dist', '/bench', '/docs', '/coverage', '/.ci', '/.data', '/test-output', '/test/browser', '/test/package', '/test/server', '/apps', '/reports'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { reportTests: false, logTests: false, allowColor: false },
};
