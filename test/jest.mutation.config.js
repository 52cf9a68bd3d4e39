// `npm run test:mutation` (StrykerJS, stryker.config.mjs): the unit specs of the mutated files
// (tokens/, guards/, the refresh machine), and nothing else. A unit spec names the check it
// kills; an e2e file boots its app in `beforeAll`, where per-test coverage cannot see which test
// reaches which line, so its kills were attributed to no test and its run cost hours.
// Runs on its own too (`npx jest --config test/jest.mutation.config.js`): the way to check that
// the set is green before Stryker's dry run insists on it.
const path = require('node:path');
const base = require('./jest.base');

module.exports = {
  ...base,
  rootDir: path.resolve(__dirname, base.rootDir),
  maxWorkers: 1,
  testMatch: ['tokens', 'guards', 'refresh'].map((folder) => `<rootDir>/libs/session/src/${folder}/*.spec.ts`),
};
