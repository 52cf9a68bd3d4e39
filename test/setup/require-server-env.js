// The server suite refuses to run (exit 1) rather than skip when its services are not named.
const missing = ['DATABASE_URL', 'REDIS_URL'].filter((name) => !process.env[name]);
if (missing.length > 0) {
  console.error(
    `test:server needs ${missing.join(' and ')}: a PostgreSQL server (e.g. postgres://postgres@127.0.0.1:5432/nest_sessions_test) ` +
      'and a Redis server (e.g. redis://127.0.0.1:6379). .ci/run sets both.',
  );
  process.exit(1);
}
