// Stryker's Jest runner for `npm run test:mutation` (see mutation-environment.js): runs the test
// files one after another, as in band, and in a mutant's run starts no further file once a test
// has failed. Loading a file that boots the app costs about a second even when all its tests are
// skipped, and a mutant in the request path is covered by nearly every file.
const TestRunner = require('jest-runner').default;
const { run } = require('./mutation-environment');

class MutationRunner extends TestRunner {
  async runTests(tests, watcher, options) {
    if (!this._globalConfig.testNamePattern) return super.runTests(tests, watcher, options);
    for (const test of tests) {
      if (run.failed) break;
      await super.runTests([test], watcher, options);
    }
  }
}

module.exports = MutationRunner;
