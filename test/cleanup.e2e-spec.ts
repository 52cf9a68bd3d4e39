import request from 'supertest';
import { randomUUID } from 'node:crypto';
import { SchedulerRegistry } from '@nestjs/schedule';
import { SessionCleanupService, SessionEvents, type CleanupReport } from 'nest-sessions';
import { startApp, type TestApp } from './support/app';
import { bearerLogin } from './support/browser';

const DAY = 86_400_000;
/** Not the default (7 d), so a pass that ignored the setting would fail the retention checks. */
const RETENTION_DAYS = 5;

/** Ended sessions past retention are deleted in batches, once, by one instance at a time. */
describe('session cleanup', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await startApp({ SESSION_CLEANUP_BATCH: '500', SESSION_RETENTION: '5d' });
    b = await startApp({ SESSION_CLEANUP_BATCH: '500', SESSION_RETENTION: '5d' });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  /** Inserts `count` sessions of a marker user, all ending at `endsAt` (revoked ones when `revoked`). */
  const insertSessions = async (t: TestApp, user: string, count: number, endsAt: Date, revoked: boolean) => {
    await t.dataSource.query(
      `INSERT INTO auth_sessions (id, user_id, transport, secret_hash, created_at, last_seen_at, expires_at, absolute_expires_at, revoked_at, revoke_reason)
       SELECT gen_random_uuid(), $1, 'cookie', sha256(g::text::bytea), $2::timestamptz - interval '1 day', $2::timestamptz - interval '1 day',
              $2, $2::timestamptz + interval '7 days', CASE WHEN $3 THEN $2::timestamptz END, CASE WHEN $3 THEN 'logout' END
         FROM generate_series(1, $4) g`,
      [user, endsAt, revoked, count],
    );
  };
  const countOf = async (t: TestApp, user: string) =>
    (await t.dataSource.query(`SELECT count(*)::int AS n FROM auth_sessions WHERE user_id = $1`, [user]))[0].n as number;
  const eligible = async (t: TestApp) =>
    (await t.dataSource.query(`SELECT count(*)::int AS n FROM auth_sessions WHERE expires_at < $1`, [new Date(Date.now() - RETENTION_DAYS * DAY)]))[0].n as number;

  it('deletes ended rows past retention in batches; rows inside retention and live rows stay', async () => {
    const old = `cleanup-old-${randomUUID()}`;
    const oldRevoked = `cleanup-old-revoked-${randomUUID()}`;
    const recent = `cleanup-recent-${randomUUID()}`;
    const live = `cleanup-live-${randomUUID()}`;
    await insertSessions(a, old, 1_200, new Date(Date.now() - 8 * DAY), false);
    await insertSessions(a, oldRevoked, 300, new Date(Date.now() - 30 * DAY), true);
    await insertSessions(a, recent, 50, new Date(Date.now() - 1 * DAY), true);
    const pastRetention = `cleanup-past-retention-${randomUUID()}`;
    await insertSessions(a, pastRetention, 40, new Date(Date.now() - 6 * DAY), true);
    await insertSessions(a, live, 50, new Date(Date.now() + 1 * DAY), false);
    const before = await eligible(a);
    expect(before).toBeGreaterThanOrEqual(1_500);

    const report = await a.app.get(SessionCleanupService).runOnce();
    expect(report).toEqual({ ran: true, deleted: before, batches: Math.floor(before / 500) + 1, durationMs: expect.any(Number), slowestBatchMs: expect.any(Number), truncated: false, rateLimitKeysDeleted: expect.any(Number), expired: expect.any(Number) });
    expect(await countOf(a, old)).toBe(0);
    expect(await countOf(a, oldRevoked)).toBe(0);
    expect(await countOf(a, recent)).toBe(50);
    expect(await countOf(a, pastRetention)).toBe(0); // 6 days: past the 5 configured, inside the default 7
    expect(await countOf(a, live)).toBe(50);
    expect(await eligible(a)).toBe(0);
    // Nest's logger is process-wide: the app created last receives every instance's lines.
    const lines = [...a.logger.lines, ...b.logger.lines];
    expect(lines.some((l) => l.includes(`deleted ${before} ended sessions in ${report.batches} batches`))).toBe(true);
  });

  it('walks ties, microsecond-apart and infinite end times exactly: every batch but the last is full', async () => {
    const tied = `cleanup-tied-${randomUUID()}`;
    const micro = `cleanup-micro-${randomUUID()}`;
    const endedAt = new Date(Date.now() - 12 * DAY);
    await insertSessions(a, tied, 1_200, endedAt, true);
    // 700 end times 1 µs apart inside one millisecond: a cursor rounded to milliseconds would
    // cut batches short and show up as extra batches.
    await a.dataSource.query(
      `INSERT INTO auth_sessions (id, user_id, transport, secret_hash, created_at, last_seen_at, expires_at, absolute_expires_at)
       SELECT gen_random_uuid(), $1, 'cookie', sha256(g::text::bytea), $2, $2, $2::timestamptz + g * interval '1 microsecond', $2
         FROM generate_series(1, 700) g`,
      [micro, endedAt],
    );
    // And 600 that ended at '-infinity' (only manual SQL makes them): first in the walk, so the
    // first batch ends on one of them.
    const infinite = `cleanup-infinite-${randomUUID()}`;
    await a.dataSource.query(
      `INSERT INTO auth_sessions (id, user_id, transport, secret_hash, created_at, last_seen_at, expires_at, absolute_expires_at)
       SELECT gen_random_uuid(), $1, 'cookie', sha256(g::text::bytea), $2, $2, '-infinity', $2 FROM generate_series(1, 600) g`,
      [infinite, endedAt],
    );
    const before = await eligible(a);
    const report = await a.app.get(SessionCleanupService).runOnce();
    expect(report).toMatchObject({ ran: true, deleted: before, batches: Math.floor(before / 500) + 1, truncated: false });
    expect(await countOf(a, tied)).toBe(0);
    expect(await countOf(a, micro)).toBe(0);
    expect(await countOf(a, infinite)).toBe(0);
  });

  it('two instances running a pass at the same moment delete each row once, and neither errors', async () => {
    const user = `cleanup-race-${randomUUID()}`;
    await insertSessions(a, user, 3_000, new Date(Date.now() - 10 * DAY), true);
    const before = await eligible(a);
    const reports: CleanupReport[] = await Promise.all([a.app.get(SessionCleanupService).runOnce(), b.app.get(SessionCleanupService).runOnce()]);
    expect(reports[0].deleted + reports[1].deleted).toBe(before);
    expect(reports.some((r) => r.ran)).toBe(true);
    expect(await countOf(a, user)).toBe(0);
    expect(await eligible(a)).toBe(0);
  });

  it('the refresh token of a deleted session gets 401', async () => {
    const { refreshToken } = await bearerLogin(a);
    const sid = refreshToken.split('.')[0];
    await a.dataSource.query(`UPDATE auth_sessions SET revoked_at = $2, revoke_reason = 'logout', expires_at = $2 WHERE id = $1`, [sid, new Date(Date.now() - 8 * DAY)]);
    await a.app.get(SessionCleanupService).runOnce();
    expect((await a.dataSource.query(`SELECT 1 FROM auth_sessions WHERE id = $1`, [sid])).length).toBe(0);
    const res = await request(a.server).post('/auth/refresh').send({ refreshToken });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
  });

  it('the job is registered with the app\'s scheduler when enabled', () => {
    expect(a.app.get(SchedulerRegistry).doesExist('cron', 'nest-sessions-cleanup')).toBe(true);
  });

  it('with the job disabled nothing is scheduled, and runOnce() still works', async () => {
    const off = await startApp({ SESSION_CLEANUP: 'false' });
    try {
      expect(off.app.get(SchedulerRegistry).doesExist('cron', 'nest-sessions-cleanup')).toBe(false);
      const user = `cleanup-off-${randomUUID()}`;
      await insertSessions(off, user, 10, new Date(Date.now() - 9 * DAY), true);
      const report = await off.app.get(SessionCleanupService).runOnce();
      expect(report.ran).toBe(true);
      expect(report.deleted).toBeGreaterThanOrEqual(10);
      expect(await countOf(off, user)).toBe(0);
    } finally {
      await off.close();
    }
  });

  it('commits its batches asynchronously without leaving synchronous_commit off on the pooled connection', async () => {
    // One connection, so the session that ran the batches is the one asked afterwards: a
    // session-wide setting would make every later refresh commit non-durable.
    const single = await startApp({ DATABASE_POOL_SIZE: '1', SESSION_CLEANUP: 'false' });
    try {
      await insertSessions(single, `cleanup-durable-${randomUUID()}`, 20, new Date(Date.now() - 9 * DAY), true);
      const before = await single.dataSource.query('SHOW synchronous_commit');
      expect(before).not.toEqual([{ synchronous_commit: 'off' }]);
      expect((await single.app.get(SessionCleanupService).runOnce()).deleted).toBeGreaterThanOrEqual(20);
      expect(await single.dataSource.query('SHOW synchronous_commit')).toEqual(before);
    } finally {
      await single.close();
    }
  });

  it('marks sessions that ran out unnoticed as ended, with which timeout and when, and says so once (expired), even with two instances at once', async () => {
    const user = `cleanup-expired-${randomUUID()}`;
    const idleEnd = new Date(Date.now() - 1 * DAY);
    const absoluteEnd = new Date(Date.now() - 3_600_000);
    await a.dataSource.query(
      `INSERT INTO auth_sessions (id, user_id, transport, secret_hash, created_at, last_seen_at, expires_at, absolute_expires_at)
       SELECT gen_random_uuid(), $1, 'bearer', sha256(g::text::bytea), now() - interval '2 days', now() - interval '2 days',
              CASE WHEN g <= 30 THEN $2::timestamptz ELSE $3::timestamptz END,
              CASE WHEN g <= 30 THEN $2::timestamptz + interval '6 days' ELSE $3::timestamptz END
         FROM generate_series(1, 50) g`,
      [user, idleEnd, absoluteEnd],
    );
    const events: Array<{ sessionId: string; userId: unknown; at: Date; reason: string }> = [];
    for (const t of [a, b]) t.app.get(SessionEvents).on('expired', (e) => void (e.userId === user && events.push(e)));
    const [ra, rb] = await Promise.all([a.app.get(SessionCleanupService).runOnce(), b.app.get(SessionCleanupService).runOnce()]);
    expect(ra.expired + rb.expired).toBeGreaterThanOrEqual(50);
    expect(new Set(events.map((e) => e.sessionId)).size).toBe(50);
    expect(events).toHaveLength(50);
    expect(events.filter((e) => e.reason === 'idle_timeout').every((e) => e.at.getTime() === idleEnd.getTime())).toBe(true);
    expect(events.filter((e) => e.reason === 'absolute_timeout').every((e) => e.at.getTime() === absoluteEnd.getTime())).toBe(true);
    expect(events.filter((e) => e.reason === 'idle_timeout')).toHaveLength(30);
    const rows = await a.dataSource.query(
      `SELECT revoke_reason, count(*)::int AS n, bool_and(revoked_at = expires_at) AS at_end FROM auth_sessions WHERE user_id = $1 GROUP BY 1 ORDER BY 1`,
      [user],
    );
    expect(rows).toEqual([
      { revoke_reason: 'absolute_timeout', n: 20, at_end: true },
      { revoke_reason: 'idle_timeout', n: 30, at_end: true },
    ]);
    // A second pass finds nothing new.
    expect((await a.app.get(SessionCleanupService).runOnce()).expired).toBe(0);
  });

  it('a session the cleanup found expired still answers its refresh with REAUTHENTICATION_REQUIRED', async () => {
    const { refreshToken } = await bearerLogin(a);
    const sid = refreshToken.split('.')[0];
    await a.dataSource.query(`UPDATE auth_sessions SET expires_at = now() - interval '1 minute' WHERE id = $1`, [sid]);
    await a.app.get(SessionCleanupService).runOnce();
    const [row] = await a.dataSource.query(`SELECT revoke_reason FROM auth_sessions WHERE id = $1`, [sid]);
    expect(row.revoke_reason).toBe('idle_timeout');
    const res = await request(a.server).post('/auth/refresh').send({ refreshToken });
    expect([res.status, res.body.code]).toEqual([401, 'REAUTHENTICATION_REQUIRED']);
  });
});
