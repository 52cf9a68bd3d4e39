// Stryker's test order for `npm run test:mutation` (see mutation-environment.js). In a mutant's
// run (a test name filter) only the files holding at least one matching test run, the unit specs
// first: they are the quickest to fail, and after a failure the rest is skipped. A file the dry
// run did not record is always kept.
const { readFileSync } = require('node:fs');
const { relative, sep } = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;
const { namesFile, run } = require('./mutation-environment');

class MutationSequencer extends Sequencer {
  constructor(options) {
    super(options);
    this.globalConfig = options.globalConfig;
    // A new Jest run: no test of it has failed yet.
    run.failed = false;
  }

  async sort(tests) {
    const pattern = this.globalConfig.testNamePattern;
    let recorded = null;
    if (pattern) {
      try {
        recorded = JSON.parse(readFileSync(namesFile(this.globalConfig.rootDir), 'utf8'));
      } catch {
        // No dry run recorded (not under Stryker): run every file.
      }
    }
    if (!recorded) return super.sort(tests);
    // The same test as jest-circus applies to each test's full name.
    const matcher = new RegExp(pattern, 'i');
    const wanted = tests.filter(({ path }) => !recorded[path] || recorded[path].some((name) => matcher.test(name)));
    const isUnit = ({ path }) => !relative(this.globalConfig.rootDir, path).startsWith(`test${sep}`);
    const sorted = await super.sort(wanted);
    return [...sorted.filter(isUnit), ...sorted.filter((test) => !isUnit(test))];
  }
}

module.exports = MutationSequencer;
