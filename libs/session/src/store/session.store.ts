import { Inject, Injectable, Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { SESSION_DATA_SOURCE } from '../session.constants';
import { runInTransaction, runStatement } from './run-statement';
import type { RevokeReason } from '../session.types';
import { gcraAllowsSql, gcraCheckSql, gcraNextSql, gcraUpsertSql, gcraValues } from '../rate-limit/postgres-rate-limit.store';
import type { CleanupCursor, CurrentRotation, CurrentRotationResult, LiveSessionRow, NewSessionRow, RefreshRow, RotatedRow } from './session-rows';

export type { CleanupCursor, CurrentRotation, CurrentRotationResult, LiveSessionRow, NewSessionRow, RefreshRow, RotatedRow } from './session-rows';

// to_char gives NULL for an infinite timestamp; those travel as Postgres' own '-infinity'.
const CURSOR_TEXT = `CASE WHEN isfinite(expires_at) THEN to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ELSE expires_at::text END`;
const MIN_UUID = '00000000-0000-0000-0000-000000000000';
const MAX_UUID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

const INSERT_SESSION = `INSERT INTO auth_sessions (id, user_id, user_id_numeric, transport, secret_hash, created_at, last_seen_at, expires_at,
    absolute_expires_at, user_agent, ip, authenticated_at, idle_timeout_ms, persistent, key_jkt)
  VALUES ($1, $2, $10, $3, $4, $5, $5, $6, $7, $8, $9, $5, $11, $12, $13)`;

function insertParams(row: NewSessionRow): unknown[] {
  return [row.id, row.userId, row.transport, row.secretHash, row.now, row.expiresAt, row.absoluteExpiresAt, row.userAgent, row.ip, row.userIdNumeric, row.idleTimeoutMs, row.persistent, row.keyJkt];
}

/**
 * All SQL of the session lifecycle. Every write is one statement, so it is atomic without an
 * explicit transaction and never holds a connection across round trips (the embedded engine
 * has one connection); the one exception is a login under a session limit, whose count and
 * insert must be one transaction (`insertWithinLimit`). Times come from the app's clock as parameters, never `now()`, so one
 * clock decides every expiry. Query failures become 503s; parameters (hashes) are never logged.
 */
@Injectable()
export class SessionStore {
  private readonly logger = new Logger('SessionStore');

  constructor(@Inject(SESSION_DATA_SOURCE) readonly dataSource: DataSource) {}

  async insert(row: NewSessionRow): Promise<void> {
    await this.run(INSERT_SESSION, insertParams(row), 'nest_sessions_insert');
  }

  /**
   * Inserts a session under a per-user limit of `max` live sessions, in one transaction holding a
   * per-user advisory lock, so that concurrent logins of one user count each other. `evict`: the
   * oldest live sessions beyond the limit end (`session_limit`) and their ids are returned;
   * otherwise a login beyond the limit inserts nothing (`inserted: false`).
   */
  async insertWithinLimit(row: NewSessionRow, max: number, evict: boolean): Promise<{ inserted: boolean; evicted: string[] }> {
    return runInTransaction(this.dataSource, this.logger, async (query) => {
      await query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`nest-sessions user ${row.userId}`]);
      if (!evict) {
        const [{ live }] = await query<{ live: number }>(
          `SELECT count(*)::int AS live FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2`,
          [row.userId, row.now],
        );
        if (live >= max) return { inserted: false, evicted: [] };
      }
      await query(INSERT_SESSION, insertParams(row));
      if (!evict) return { inserted: true, evicted: [] };
      const ended = await query<{ id: string }>(
        `UPDATE auth_sessions SET revoked_at = $2, revoke_reason = 'session_limit', expires_at = LEAST(expires_at, $2)
          WHERE id IN (SELECT id FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
                        ORDER BY id = $4 DESC, created_at DESC, id DESC OFFSET $3)
          RETURNING id`,
        [row.userId, row.now, max, row.id],
      );
      return { inserted: true, evicted: ended.map((r) => r.id) };
    });
  }

  /**
   * The row a refresh needs, by primary key. Only the previous hash comes with it: the rest of
   * the lineage is read (`findLineage`) only when a secret matches neither, which is rare.
   */
  async findForRefresh(id: string): Promise<RefreshRow | null> {
    const rows = await this.run<RefreshRow>(
      `SELECT user_id AS "userId", user_id_numeric AS "userIdNumeric", transport, secret_hash AS "secretHash", previous_hashes[1] AS "previousHash",
              rotated_at AS "rotatedAt", generation, expires_at AS "expiresAt",
              absolute_expires_at AS "absoluteExpiresAt", revoked_at AS "revokedAt", revoke_reason AS "revokeReason",
              COALESCE(authenticated_at, created_at) AS "authenticatedAt",
              idle_timeout_ms::float8 AS "idleTimeoutMs", persistent, key_jkt AS "keyJkt",
              device_key AS "deviceKey"
         FROM auth_sessions WHERE id = $1`,
      [id],
      'nest_sessions_find_for_refresh',
    );
    return rows[0] ?? null;
  }

  /** Every earlier secret hash of a session, newest first (the first is the previous one). */
  async findLineage(id: string): Promise<Buffer[]> {
    const rows = await this.run<{ lineage: Buffer[] | null }>(`SELECT previous_hashes AS lineage FROM auth_sessions WHERE id = $1`, [id]);
    return rows[0]?.lineage ?? [];
  }

  /**
   * Compare-and-swap rotation: succeeds only if no other refresh rotated this generation first
   * and the session is still open. The old hash joins the bounded lineage in the same statement,
   * so a crash leaves either the old or the new secret active, never both or neither.
   */
  async rotate(id: string, generation: number, newHash: Buffer, now: Date, expiresAt: Date, lineageSize: number): Promise<boolean> {
    const rows = await this.run(
      `UPDATE auth_sessions
          SET previous_hashes = (array_prepend(secret_hash, previous_hashes))[1:$6],
              secret_hash = $3, rotated_at = $4, last_seen_at = $4, expires_at = $5, generation = generation + 1,
              grace_hits = 0
        WHERE id = $1 AND generation = $2 AND revoked_at IS NULL AND expires_at > $4
        RETURNING generation`,
      [id, generation, newHash, now, expiresAt, lineageSize],
    );
    return rows.length === 1;
  }

  /**
   * The common refresh in one statement and one round trip: checks the pending refresh rate
   * limits (the address's, charged only if the attempt fails), spends the others (the session's:
   * in its own row, by the rotating update itself, or in `auth_rate_limits` for a key of its own)
   * and, when they allow it and the presented secret is the current one of an open session of
   * this transport, rotates it (the same compare-and-swap as `rotate`, the old hash joining the
   * lineage). Anything else rotates nothing and says so; the caller then classifies the secret
   * with the full read. The hash is matched by the database's equality: it is an HMAC of a
   * 256-bit secret, so an attacker cannot steer its bytes, and timing reveals nothing usable.
   */
  async rotateCurrent(r: CurrentRotation): Promise<CurrentRotationResult> {
    const params: unknown[] = [r.id, r.hashes, r.newHash, r.now, r.idleTimeoutMs, r.lineageSize, r.viaCookie, r.jkt];
    const nowUs = r.now.getTime() * 1000;
    // The row as it was, for the answer: when it last rotated, and its own limit's state.
    const ctes = ['before AS (SELECT rotated_at, refresh_tat_us AS tat_us FROM auth_sessions WHERE id = $1)'];
    const checks: string[] = [];
    const spendInRow = { set: '', where: '' };
    r.limits.forEach((limit, i) => {
      const when = i > 0 ? `EXISTS (SELECT 1 FROM limit${i - 1})` : undefined;
      if (limit.inSessionRow) {
        const base = params.length - 1;
        params.push(...gcraValues(limit.key, limit.rule, nowUs).slice(1));
        const p = { nowUs: base + 2, intervalUs: base + 3, windowUs: base + 4 };
        // Checked on the row as read, for the answer; spent under the update's lock, on the row as it is then.
        ctes.push(`limit${i} AS (${gcraCheckSql(p, 'before', when)})`);
        checks.push(`EXISTS (SELECT 1 FROM limit${i}) AS "allowed${i}", (SELECT tat_us FROM before)::text AS "prior${i}"`);
        spendInRow.set = `, refresh_tat_us = ${gcraNextSql('s.refresh_tat_us', p)}`;
        spendInRow.where = ` AND ${gcraAllowsSql('s.refresh_tat_us', p)}`;
        return;
      }
      const base = params.length;
      params.push(...gcraValues(limit.key, limit.rule, nowUs));
      const p = { key: base + 1, nowUs: base + 2, intervalUs: base + 3, windowUs: base + 4 };
      ctes.push(`prior${i} AS (SELECT tat_us FROM auth_rate_limits WHERE key = $${p.key})`);
      ctes.push(`limit${i} AS (${limit.onFailure ? gcraCheckSql(p, `prior${i}`, when) : gcraUpsertSql(p, when)})`);
      checks.push(`EXISTS (SELECT 1 FROM limit${i}) AS "allowed${i}", (SELECT tat_us FROM prior${i})::text AS "prior${i}"`);
    });
    const allowed = r.limits.length > 0 ? `AND EXISTS (SELECT 1 FROM limit${r.limits.length - 1})` : '';
    const rows = await this.run<Record<string, unknown>>(
      `WITH ${ctes.join(',\n')},
       rotated AS (
         UPDATE auth_sessions s
            SET previous_hashes = (array_prepend(s.secret_hash, s.previous_hashes))[1:$6],
                secret_hash = $3, rotated_at = $4, last_seen_at = $4, generation = s.generation + 1, grace_hits = 0,
                expires_at = LEAST(s.absolute_expires_at, $4::timestamptz + COALESCE(s.idle_timeout_ms::float8, $5::float8) * interval '1 millisecond')${spendInRow.set}
          WHERE s.id = $1 AND s.secret_hash = ANY($2::bytea[]) AND s.revoked_at IS NULL AND s.expires_at > $4
            AND (s.transport = 'cookie') = $7 AND ${r.keyRequired ? 's.key_jkt = $8::text' : '(s.key_jkt IS NULL OR s.key_jkt = $8::text)'} ${allowed}${spendInRow.where}
          RETURNING s.user_id AS "userId", s.user_id_numeric AS "userIdNumeric", s.transport, s.generation,
                    s.expires_at AS "expiresAt", s.absolute_expires_at AS "absoluteExpiresAt",
                    COALESCE(s.authenticated_at, s.created_at) AS "authenticatedAt", s.persistent, s.key_jkt AS "keyJkt")
       SELECT ${[...checks, 'r.*', 'b.rotated_at AS "previousRotatedAt"'].join(', ')}
         FROM (SELECT 1) one LEFT JOIN rotated r ON true LEFT JOIN before b ON r."userId" IS NOT NULL`,
      params,
      `nest_sessions_rotate_current_${r.limits.map((l) => (l.onFailure ? 'c' : l.inSessionRow ? 'r' : 's')).join('')}${r.keyRequired ? '_bound' : ''}`,
    );
    const result = rows[0];
    for (let i = 0; i < r.limits.length; i++) {
      if (!result[`allowed${i}`]) return { outcome: 'limited', index: i, prior: (result[`prior${i}`] as string | null) ?? null };
    }
    if (result.userId === null || result.userId === undefined) return { outcome: 'not_current' };
    return { outcome: 'rotated', row: result as unknown as RotatedRow };
  }

  /**
   * Binds an open cookie session to a DBSC device key, once, and only while it is new (started
   * after `startedAfter`: the browser registers right after the login): a session already bound
   * keeps its key, and a copy of an older session's cookies cannot bind it to a thief's key.
   * Returns the session's row for the access token, or null when nothing was bound.
   */
  async bindDeviceKey(
    id: string,
    jkt: string,
    publicJwk: string,
    now: Date,
    startedAfter: Date,
  ): Promise<Pick<RefreshRow, 'userId' | 'userIdNumeric' | 'expiresAt' | 'absoluteExpiresAt' | 'authenticatedAt' | 'persistent' | 'generation'> | null> {
    const rows = await this.run<Pick<RefreshRow, 'userId' | 'userIdNumeric' | 'expiresAt' | 'absoluteExpiresAt' | 'authenticatedAt' | 'persistent' | 'generation'>>(
      `UPDATE auth_sessions SET key_jkt = $2, device_key = $3
        WHERE id = $1 AND key_jkt IS NULL AND transport = 'cookie' AND revoked_at IS NULL AND expires_at > $4 AND created_at > $5
        RETURNING user_id AS "userId", user_id_numeric AS "userIdNumeric", expires_at AS "expiresAt", absolute_expires_at AS "absoluteExpiresAt",
                  COALESCE(authenticated_at, created_at) AS "authenticatedAt", persistent, generation`,
      [id, jkt, publicJwk, now, startedAfter],
    );
    return rows[0] ?? null;
  }

  /**
   * Puts back the secret `rotateCurrent` rotated out, when the new one cannot be handed over (the
   * app's `loadUser` failed): the client still holds the old secret, which must stay current
   * rather than turn into reuse. Only if nothing rotated the session since.
   */
  async undoRotation(id: string, generation: number, newHash: Buffer, previousRotatedAt: Date | null): Promise<boolean> {
    const rows = await this.run(
      `UPDATE auth_sessions
          SET secret_hash = previous_hashes[1], previous_hashes = previous_hashes[2:], generation = generation - 1, rotated_at = $4
        WHERE id = $1 AND generation = $2 AND secret_hash = $3 AND cardinality(previous_hashes) > 0
        RETURNING 1`,
      [id, generation, newHash, previousRotatedAt],
    );
    return rows.length === 1;
  }

  /**
   * Counts one grace-window refresh of this generation, if fewer than `max` were made: one
   * statement, so parallel tabs on many instances share the one count.
   */
  async countGraceHit(id: string, generation: number, max: number): Promise<boolean> {
    const rows = await this.run(
      `UPDATE auth_sessions SET grace_hits = grace_hits + 1
        WHERE id = $1 AND generation = $2 AND grace_hits < $3 AND revoked_at IS NULL RETURNING 1`,
      [id, generation, max],
    );
    return rows.length === 1;
  }

  /** Revokes one open session; returns its user, or null if it was not open. */
  async revoke(id: string, reason: RevokeReason, now: Date, userId?: string): Promise<{ userId: string; userIdNumeric: boolean } | null> {
    const rows = await this.run<{ userId: string; userIdNumeric: boolean }>(
      `UPDATE auth_sessions SET revoked_at = $2, revoke_reason = $3, expires_at = LEAST(expires_at, $2)
        WHERE id = $1 AND revoked_at IS NULL AND ($4::text IS NULL OR user_id = $4)
        RETURNING user_id AS "userId", user_id_numeric AS "userIdNumeric"`,
      [id, now, reason, userId ?? null],
    );
    return rows[0] ?? null;
  }

  /**
   * Records a re-authentication on an open session of `userId`; returns what a new access token
   * needs, or null when there is no such open session.
   */
  async markAuthenticated(id: string, userId: string, now: Date): Promise<Pick<RefreshRow, 'transport' | 'expiresAt' | 'absoluteExpiresAt' | 'userIdNumeric' | 'persistent' | 'keyJkt'> | null> {
    const rows = await this.run<Pick<RefreshRow, 'transport' | 'expiresAt' | 'absoluteExpiresAt' | 'userIdNumeric' | 'persistent' | 'keyJkt'>>(
      `UPDATE auth_sessions SET authenticated_at = $3
        WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3
        RETURNING transport, expires_at AS "expiresAt", absolute_expires_at AS "absoluteExpiresAt", user_id_numeric AS "userIdNumeric", persistent,
                  key_jkt AS "keyJkt"`,
      [id, userId, now],
    );
    return rows[0] ?? null;
  }

  /**
   * Marks up to `limit` open sessions that ran out (idle or absolute) before `now` as ended, at
   * the moment they ended and with which timeout it was; returns them. Rows another instance is
   * marking are skipped, so each is marked, and reported, once.
   */
  async markExpired(now: Date, limit: number): Promise<Array<{ id: string; userId: string; userIdNumeric: boolean; endedAt: Date; reason: 'idle_timeout' | 'absolute_timeout' }>> {
    return this.run(
      `UPDATE auth_sessions s
          SET revoked_at = s.expires_at,
              revoke_reason = CASE WHEN s.expires_at >= s.absolute_expires_at THEN 'absolute_timeout' ELSE 'idle_timeout' END
        WHERE s.id IN (SELECT id FROM auth_sessions WHERE revoked_at IS NULL AND expires_at <= $1
                        ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
          AND s.revoked_at IS NULL
        RETURNING s.id, s.user_id AS "userId", s.user_id_numeric AS "userIdNumeric", s.expires_at AS "endedAt", s.revoke_reason AS reason`,
      [now, limit],
    );
  }

  async belongsTo(id: string, userId: string): Promise<boolean> {
    const rows = await this.run(`SELECT 1 FROM auth_sessions WHERE id = $1 AND user_id = $2`, [id, userId]);
    return rows.length === 1;
  }

  /**
   * Strict revocation's check by primary key: when the session is open, when it was last seen
   * (so activity is recorded at most once per interval) and when it ends unless refreshed; null
   * when it is not open.
   */
  async findLive(id: string, userId: string, now: Date): Promise<{ lastSeenAt: Date; expiresAt: Date } | null> {
    const rows = await this.run<{ lastSeenAt: Date; expiresAt: Date }>(
      `SELECT last_seen_at AS "lastSeenAt", expires_at AS "expiresAt" FROM auth_sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3`,
      [id, userId, now],
      'nest_sessions_find_live',
    );
    return rows[0] ?? null;
  }

  /** Records activity; never moves an ended session's times. */
  async touch(id: string, now: Date): Promise<void> {
    await this.run(`UPDATE auth_sessions SET last_seen_at = $2 WHERE id = $1 AND revoked_at IS NULL AND last_seen_at < $2`, [id, now], 'nest_sessions_touch');
  }

  /**
   * Revokes a user's open sessions, or only those created before `before` (a per-user "not
   * before"); returns their ids.
   */
  async revokeUserSessions(userId: string, reason: RevokeReason, now: Date, before?: Date, exceptId?: string): Promise<string[]> {
    const rows = await this.run<{ id: string }>(
      `UPDATE auth_sessions SET revoked_at = $2, revoke_reason = $3, expires_at = LEAST(expires_at, $2)
        WHERE user_id = $1 AND revoked_at IS NULL AND ($4::timestamptz IS NULL OR created_at < $4)
          AND ($5::uuid IS NULL OR id <> $5::uuid) RETURNING id`,
      [userId, now, reason, before ?? null, exceptId ?? null],
    );
    return rows.map((r) => r.id);
  }

  async listLive(userId: string, now: Date): Promise<LiveSessionRow[]> {
    return this.run<LiveSessionRow>(
      `SELECT id, created_at AS "createdAt", last_seen_at AS "lastSeenAt", expires_at AS "expiresAt",
              user_agent AS "userAgent", ip
         FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
        ORDER BY created_at DESC`,
      [userId, now],
    );
  }

  /**
   * Where the next cleanup batch ends: the `(expires_at, id)` of the `limit`-th session that ended
   * before `cutoff`, counting from `after` in index order, or null when fewer are left (the batch
   * then takes the rest). An index-only walk of `limit` entries from the cursor: no batch
   * re-walks live rows or the dead entries of earlier batches.
   */
  async endOfCleanupBatch(cutoff: Date, after: CleanupCursor | null, limit: number): Promise<CleanupCursor | null> {
    const rows = await this.run<CleanupCursor>(
      `SELECT ${CURSOR_TEXT} AS "expiresAt", id FROM auth_sessions
        WHERE expires_at < $1 AND (expires_at, id) > ($2::timestamptz, $3::uuid)
        ORDER BY expires_at, id OFFSET $4 LIMIT 1`,
      [cutoff, after?.expiresAt ?? '-infinity', after?.id ?? MIN_UUID, limit - 1],
    );
    return rows[0] ?? null;
  }

  /**
   * Deletes the sessions that ended before `cutoff` in `(after, upTo]` (`upTo` null: up to the
   * cutoff), if this instance holds the cleanup lock. One statement, so no lock outlives the batch:
   * a transaction-scoped advisory lock (one cleaner at a time), then a range scan of the
   * `(expires_at, id)` index. No `FOR UPDATE` and no per-row list: the session paths may still
   * stamp an ended row (a revocation, a touch) but never move it back before the cutoff, the
   * DELETE re-checks `expires_at` on whatever version of a row it reaches, and the range form
   * costs about half the CPU per row of deleting a fetched list of victims (BENCHMARKS.md §4).
   * Needs READ COMMITTED (Postgres' default): under REPEATABLE READ such a concurrent stamp
   * would fail the batch, and the next pass would retry it.
   */
  async deleteEndedRange(
    lockKey: number,
    cutoff: Date,
    after: CleanupCursor | null,
    upTo: CleanupCursor | null,
  ): Promise<{ locked: boolean; deleted: number; serverMs: number }> {
    const rows = await this.run<{ locked: boolean; deleted: number; serverMs: number }>(
      // Asynchronous commit for this transaction only: a batch lost to a crash just leaves
      // ended rows for the next pass, and refresh commits stop queueing behind cleanup's WAL
      // flushes (BENCHMARKS.md §4).
      `WITH lock AS MATERIALIZED (
              SELECT pg_try_advisory_xact_lock($1) AS got, set_config('synchronous_commit', 'off', true)),
            deleted AS (
              DELETE FROM auth_sessions
               WHERE (SELECT got FROM lock) AND expires_at < $2
                 -- Implied by the row comparisons below; stated so the planner sees one narrow
                 -- range (it estimates row comparisons on their first column, each side alone,
                 -- and would pick a full scan once the cursor passed the table's middle).
                 AND expires_at BETWEEN $3::timestamptz AND $5::timestamptz
                 AND (expires_at, id) > ($3::timestamptz, $4::uuid)
                 AND (expires_at, id) <= ($5::timestamptz, $6::uuid)
               RETURNING 1)
       SELECT (SELECT got FROM lock) AS locked,
              (SELECT count(*) FROM deleted)::int AS deleted,
              (extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::float8 AS "serverMs"`,
      [lockKey, cutoff, after?.expiresAt ?? '-infinity', after?.id ?? MIN_UUID, upTo?.expiresAt ?? cutoff, upTo?.id ?? MAX_UUID],
    );
    const row = rows[0];
    return { locked: row.locked, deleted: row.deleted, serverMs: Number(row.serverMs) };
  }

  /**
   * Deletes up to `batchSize` rate-limit keys whose state is back to fresh (their count has fully
   * refilled), and returns how many. The outer condition is checked again on a row another
   * instance has just spent, so an active key is never reset.
   */
  async deleteIdleRateLimits(now: Date, batchSize: number): Promise<number> {
    const rows = await this.run<{ deleted: number }>(
      `WITH deleted AS (
         DELETE FROM auth_rate_limits
          WHERE key IN (SELECT key FROM auth_rate_limits WHERE tat_us < $1::bigint LIMIT $2) AND tat_us < $1::bigint
          RETURNING 1)
       SELECT count(*)::int AS deleted FROM deleted`,
      [now.getTime() * 1000, batchSize],
    );
    return rows[0].deleted;
  }

  /**
   * Sessions open now (`live`), or ended more than `retentionSeconds` ago (`backlog`, what the
   * cleanup has yet to delete): exact up to `cap` rows (an index scan that stops there), the
   * planner's estimate beyond, so a table of millions costs a plan, not a count.
   */
  async countSessions(kind: 'live' | 'backlog', retentionSeconds: number, cap: number): Promise<number> {
    const where = kind === 'live' ? 'revoked_at IS NULL AND expires_at > now()' : `expires_at < now() - make_interval(secs => ${Math.floor(retentionSeconds)})`;
    const rows = await this.run<{ n: string }>(`SELECT count(*) AS n FROM (SELECT 1 FROM auth_sessions WHERE ${where} LIMIT ${Math.floor(cap)}) capped`, []);
    const counted = Number(rows[0]?.n ?? 0);
    if (counted < cap) return counted;
    const plan = await this.run<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(`EXPLAIN (FORMAT JSON) SELECT 1 FROM auth_sessions WHERE ${where}`, []);
    return Math.max(cap, plan[0]?.['QUERY PLAN']?.[0]?.Plan?.['Plan Rows'] ?? cap);
  }

  /** `name`: a prepared statement, for the hot paths (planned once per connection). */
  private run<T = unknown>(sql: string, params: unknown[], name?: string): Promise<T[]> {
    return runStatement<T>(this.dataSource, this.logger, sql, params, name);
  }
}
