import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ServiceUnavailableError } from '../errors/session-error';
import type { RevokeReason, SessionTransport } from '../session.types';

/** The columns a refresh needs, read by primary key. */
export interface RefreshRow {
  userId: string;
  transport: SessionTransport;
  secretHash: Buffer;
  /** The hash of the secret rotated out last, if any. */
  previousHash: Buffer | null;
  rotatedAt: Date | null;
  generation: number;
  expiresAt: Date;
  absoluteExpiresAt: Date;
  revokedAt: Date | null;
}

export interface NewSessionRow {
  id: string;
  userId: string;
  transport: SessionTransport;
  secretHash: Buffer;
  now: Date;
  expiresAt: Date;
  absoluteExpiresAt: Date;
  userAgent: string | null;
  ip: string | null;
}

export interface LiveSessionRow {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  userAgent: string | null;
  ip: string | null;
}

/**
 * All SQL of the session lifecycle. Every write is one statement, so it is atomic without an
 * explicit transaction and never holds a connection across round trips (the embedded engine
 * has one connection). Times come from the app's clock as parameters, never `now()`, so one
 * clock decides every expiry. Query failures become 503s; parameters (hashes) are never logged.
 */
@Injectable()
export class SessionStore {
  private readonly logger = new Logger('SessionStore');

  constructor(private readonly dataSource: DataSource) {}

  async insert(row: NewSessionRow): Promise<void> {
    await this.run(
      `INSERT INTO auth_sessions (id, user_id, transport, secret_hash, created_at, last_seen_at, expires_at,
         absolute_expires_at, user_agent, ip)
       VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9)`,
      [row.id, row.userId, row.transport, row.secretHash, row.now, row.expiresAt, row.absoluteExpiresAt, row.userAgent, row.ip],
    );
  }

  /**
   * The row a refresh needs, by primary key. Only the previous hash comes with it: the rest of
   * the lineage is read (`findLineage`) only when a secret matches neither, which is rare.
   */
  async findForRefresh(id: string): Promise<RefreshRow | null> {
    const rows = await this.run<RefreshRow>(
      `SELECT user_id AS "userId", transport, secret_hash AS "secretHash", previous_hashes[1] AS "previousHash",
              rotated_at AS "rotatedAt", generation, expires_at AS "expiresAt",
              absolute_expires_at AS "absoluteExpiresAt", revoked_at AS "revokedAt"
         FROM auth_sessions WHERE id = $1`,
      [id],
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
              secret_hash = $3, rotated_at = $4, last_seen_at = $4, expires_at = $5, generation = generation + 1
        WHERE id = $1 AND generation = $2 AND revoked_at IS NULL AND expires_at > $4
        RETURNING generation`,
      [id, generation, newHash, now, expiresAt, lineageSize],
    );
    return rows.length === 1;
  }

  /** Revokes one open session; returns its user id, or null if it was not open. */
  async revoke(id: string, reason: RevokeReason, now: Date, userId?: string): Promise<string | null> {
    const rows = await this.run<{ userId: string }>(
      `UPDATE auth_sessions SET revoked_at = $2, revoke_reason = $3, expires_at = LEAST(expires_at, $2)
        WHERE id = $1 AND revoked_at IS NULL AND ($4::text IS NULL OR user_id = $4)
        RETURNING user_id AS "userId"`,
      [id, now, reason, userId ?? null],
    );
    return rows[0]?.userId ?? null;
  }

  async belongsTo(id: string, userId: string): Promise<boolean> {
    const rows = await this.run(`SELECT 1 FROM auth_sessions WHERE id = $1 AND user_id = $2`, [id, userId]);
    return rows.length === 1;
  }

  /**
   * Strict revocation's check by primary key: when the session is open, when it was last seen
   * (so activity is recorded at most once per interval); null when it is not open.
   */
  async findLive(id: string, userId: string, now: Date): Promise<{ lastSeenAt: Date } | null> {
    const rows = await this.run<{ lastSeenAt: Date }>(
      `SELECT last_seen_at AS "lastSeenAt" FROM auth_sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3`,
      [id, userId, now],
    );
    return rows[0] ?? null;
  }

  /** Records activity; never moves an ended session's times. */
  async touch(id: string, now: Date): Promise<void> {
    await this.run(`UPDATE auth_sessions SET last_seen_at = $2 WHERE id = $1 AND revoked_at IS NULL AND last_seen_at < $2`, [id, now]);
  }

  /**
   * Revokes a user's open sessions, or only those created before `before` (a per-user "not
   * before"); returns their ids.
   */
  async revokeUserSessions(userId: string, reason: RevokeReason, now: Date, before?: Date): Promise<string[]> {
    const rows = await this.run<{ id: string }>(
      `UPDATE auth_sessions SET revoked_at = $2, revoke_reason = $3, expires_at = LEAST(expires_at, $2)
        WHERE user_id = $1 AND revoked_at IS NULL AND ($4::timestamptz IS NULL OR created_at < $4) RETURNING id`,
      [userId, now, reason, before ?? null],
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
   * Deletes one batch of sessions that ended before `cutoff`, if this instance holds the cleanup
   * lock. One statement, so no lock outlives the batch: a transaction-scoped advisory lock (one
   * cleaner at a time), then up to `limit` victims walked in `(expires_at, id)` order from the
   * previous batch's cursor on the index (never re-walking live rows or dead entries), deleted by
   * `ctid`. No `FOR UPDATE`: ended rows are never updated by the session paths (an ended row
   * cannot become live again), and locking them first doubled the heap writes (BENCHMARKS.md);
   * the DELETE re-checks `expires_at`, so whatever version of a row it reaches is still ended.
   * Needs READ COMMITTED (Postgres' default). Returns how long the statement ran on the server.
   */
  async deleteEndedBatch(
    lockKey: number,
    cutoff: Date,
    after: { expiresAt: Date; id: string } | null,
    limit: number,
  ): Promise<{ locked: boolean; deleted: number; last: { expiresAt: Date; id: string } | null; serverMs: number }> {
    const rows = await this.run<{ locked: boolean; deleted: number; lastExpiresAt: Date | null; lastId: string | null; serverMs: number }>(
      // Asynchronous commit for this transaction only: a batch lost to a crash just leaves
      // ended rows for the next pass, and refresh commits stop queueing behind cleanup's WAL
      // flushes (BENCHMARKS.md §4: p99 during a purge fell from about 10x to 1.5x idle).
      `WITH lock AS MATERIALIZED (
              SELECT pg_try_advisory_xact_lock($1) AS got, set_config('synchronous_commit', 'off', true)),
            victims AS MATERIALIZED (
              SELECT ctid AS tid, expires_at, id FROM auth_sessions
               WHERE (SELECT got FROM lock) AND expires_at < $2
                 AND ($3::timestamptz IS NULL OR (expires_at, id) > ($3::timestamptz, $4::uuid))
               ORDER BY expires_at, id
               LIMIT $5),
            deleted AS (DELETE FROM auth_sessions WHERE ctid = ANY (ARRAY(SELECT tid FROM victims)) AND expires_at < $2 RETURNING 1)
       SELECT (SELECT got FROM lock) AS locked,
              (SELECT count(*) FROM deleted)::int AS deleted,
              last.expires_at AS "lastExpiresAt", last.id AS "lastId",
              (extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::float8 AS "serverMs"
         FROM (SELECT 1) one
         LEFT JOIN LATERAL (SELECT expires_at, id FROM victims ORDER BY expires_at DESC, id DESC LIMIT 1) last ON true`,
      [lockKey, cutoff, after?.expiresAt ?? null, after?.id ?? null, limit],
    );
    const row = rows[0];
    return {
      locked: row.locked,
      deleted: row.deleted,
      last: row.lastId && row.lastExpiresAt ? { expiresAt: row.lastExpiresAt, id: row.lastId } : null,
      serverMs: Number(row.serverMs),
    };
  }

  private async run<T = unknown>(sql: string, params: unknown[]): Promise<T[]> {
    try {
      const pool = this.pool();
      if (pool) return (await pool.query(sql, params)).rows as T[];
      const result: unknown = await this.dataSource.query(sql, params);
      // UPDATE ... RETURNING comes back from TypeORM's postgres driver as [rows, count].
      if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
        return result[0] as T[];
      }
      return result as T[];
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      this.logger.error(`session store query failed (${typeof code === 'string' ? code : (error as Error).name})`);
      throw new ServiceUnavailableError();
    }
  }

  /**
   * The DataSource's own `pg` pool: the hot paths (one primary-key read per refresh or cache
   * miss) skip TypeORM's per-query QueryRunner, which cost more than the query itself
   * (BENCHMARKS.md). Same pool, same connections, same acquire timeout.
   */
  private pool(): PgPool | null {
    // Looked up each time (a property read): the DataSource may be initialised later, or
    // destroyed and initialised again with a new pool.
    const master = (this.dataSource.driver as unknown as { master?: Partial<PgPool> }).master;
    return master && typeof master.query === 'function' && !master.ending ? (master as PgPool) : null;
  }
}

interface PgPool {
  ending?: boolean;
  query(sql: string, params: unknown[]): Promise<{ rows: unknown[] }>;
}
