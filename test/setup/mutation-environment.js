// Stryker's Jest environment for `npm run test:mutation` (set in stryker.config.mjs). Stryker asks
// Jest for a mutant's tests by name only, and Jest cannot stop at the first failure there (Stryker
// turns `bail` off), so each mutant would load every test file that imports the mutated one
// (every e2e spec boots the whole app) and run every covering test, killed or not: hours in all.
// This environment does two things, only under Stryker, and leaves plain Jest runs alone:
//  - in the dry run (no name filter) it records the full name of each test of each file, so that
//    mutation-sequencer.js can leave out, in a mutant's run, the files holding none of its tests;
//  - in a mutant's run, once a test has failed (the mutant is killed: one failure is all Stryker
//    needs) it skips the remaining tests and describe blocks, their beforeAll hooks included.
// A surviving mutant still runs every test that covers it.
const { readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { TestEnvironment } = require('jest-environment-node');

/**
 * One Jest run at a time in a Stryker worker; mutation-sequencer.js resets this for each run. On
 * the process's global: Jest may load this file and the sequencer's copy of it as two modules.
 */
const run = (globalThis.__nsMutationRun ??= { failed: false });

const namesFile = (rootDir) => path.join(rootDir, '.stryker-test-names.json');

/** The name Jest matches `testNamePattern` against: the describe names and the test's, spaced. */
function fullName(test) {
  const names = [];
  for (let block = test; block && block.parent; block = block.parent) names.unshift(block.name);
  return names.join(' ');
}

class MutationEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    const { globalConfig, projectConfig } = config;
    const underStryker = projectConfig.globals.__strykerGlobalNamespace__ !== undefined;
    this.testPath = context.testPath;
    this.rootDir = projectConfig.rootDir;
    this.recording = underStryker && !globalConfig.testNamePattern;
    this.bailing = underStryker && !!globalConfig.testNamePattern;
    this.names = [];
  }

  async handleTestEvent(event, state) {
    if (this.recording && event.name === 'test_start') this.names.push(fullName(event.test));
    if (this.bailing) {
      // jest-circus reads `mode` after these two events, before it runs any hook or test.
      if (run.failed && event.name === 'run_describe_start') event.describeBlock.mode = 'skip';
      if (run.failed && event.name === 'test_start') event.test.mode = 'skip';
      if (event.name === 'test_done' && event.test.errors.length > 0) run.failed = true;
    }
    await super.handleTestEvent?.(event, state);
  }

  async teardown() {
    if (this.recording) {
      let all = {};
      try {
        all = JSON.parse(readFileSync(namesFile(this.rootDir), 'utf8'));
      } catch {
        // The first file of the dry run.
      }
      all[this.testPath] = this.names;
      writeFileSync(namesFile(this.rootDir), JSON.stringify(all));
    }
    await super.teardown();
  }
}

module.exports = MutationEnvironment;
module.exports.namesFile = namesFile;
module.exports.run = run;
