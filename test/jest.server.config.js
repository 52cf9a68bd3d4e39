// `npm run test:server`: what needs a real PostgreSQL server and Redis (several processes,
// faults). It fails, never skips, without DATABASE_URL and REDIS_URL.
const base = require('./jest.base');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/server/**/*.server-spec.ts'],
  maxWorkers: 1,
};
