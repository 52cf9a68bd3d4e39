import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { CLEANUP_LOCK_KEY } from '../../libs/session/src/cleanup/session-cleanup.service';
import { SessionCleanupService } from 'nest-sessions';
import { startApp, type TestApp } from '../support/app';

const run = promisify(execFile);
const DAY = 86_400_000;

/** On the server: the advisory lock makes other instances skip; the npm script runs one pass. */
describe('session cleanup on the PostgreSQL server', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ SESSION_CLEANUP: 'false' });
  });
  afterAll(() => t.close());

  const insertEnded = (user: string, count: number) =>
    t.dataSource.query(
      `INSERT INTO auth_sessions (id, user_id, transport, secret_hash, created_at, last_seen_at, expires_at, absolute_expires_at, revoked_at, revoke_reason)
       SELECT gen_random_uuid(), $1, 'bearer', sha256(g::text::bytea), $2, $2, $2, $2, $2, 'logout' FROM generate_series(1, $3) g`,
      [user, new Date(Date.now() - 20 * DAY), count],
    );
  const countOf = async (user: string) =>
    (await t.dataSource.query(`SELECT count(*)::int AS n FROM auth_sessions WHERE user_id = $1`, [user]))[0].n as number;

  it('while another instance holds the cleanup lock, a pass skips without error and deletes nothing', async () => {
    const user = `cleanup-locked-${randomUUID()}`;
    await insertEnded(user, 100);
    const other = new Client({ connectionString: process.env.DATABASE_URL });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock($1)', [CLEANUP_LOCK_KEY]);
      const report = await t.app.get(SessionCleanupService).runOnce();
      expect(report).toMatchObject({ ran: false, deleted: 0, batches: 0 });
      expect(await countOf(user)).toBe(100);
    } finally {
      await other.query('ROLLBACK');
      await other.end();
    }
    const after = await t.app.get(SessionCleanupService).runOnce();
    expect(after.ran).toBe(true);
    expect(await countOf(user)).toBe(0);
  });

  it('`npm run sessions:cleanup` runs one pass with DATABASE_URL alone (production, no secrets) and exits', async () => {
    const user = `cleanup-cli-${randomUUID()}`;
    await insertEnded(user, 42);
    const main = join(__dirname, '..', '..', 'dist', 'apps', 'sample', 'apps', 'sample', 'src', 'cleanup.js');
    // It signs nothing: no JWT_SECRET or SESSION_SECRET, and production refuses made-up ones.
    const env = { PATH: process.env.PATH, NODE_ENV: 'production', DATABASE_URL: process.env.DATABASE_URL };
    const { stdout } = await run(process.execPath, [main], { env, timeout: 60_000 });
    const report = JSON.parse(stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop()!);
    expect(report).toMatchObject({ ran: true, truncated: false });
    expect(report.deleted).toBeGreaterThanOrEqual(42);
    expect(await countOf(user)).toBe(0);
  });
});
