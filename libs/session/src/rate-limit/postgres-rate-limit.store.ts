import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { runStatement } from '../store/run-statement';
import { emissionIntervalUs, gcraStep, type RateLimitRule, type RateLimitVerdict } from './gcra';
import type { SessionRateLimitStore } from './session-rate-limit-store';

/** Where an attempt's parameters are in a statement: `$n` positions. */
export interface GcraParams {
  key: number;
  nowUs: number;
  intervalUs: number;
  windowUs: number;
}

/** `gcraStep`'s next state for `tat` (a column, null for fresh state): it allows the attempt if not past `gcraAllowsSql`. */
export function gcraNextSql(tat: string, p: Omit<GcraParams, 'key'>): string {
  // The start is now for fresh or foreign state (null, or beyond the window: a clock that moved back).
  return `CASE WHEN ${tat} > $${p.nowUs}::bigint + $${p.windowUs}::bigint THEN $${p.nowUs}::bigint ELSE GREATEST(${tat}, $${p.nowUs}::bigint) END + $${p.intervalUs}::bigint`;
}

/** Whether `gcraStep` allows an attempt on `tat`: one interval past the start stays within the window. */
export function gcraAllowsSql(tat: string, p: Omit<GcraParams, 'key'>): string {
  return `${gcraNextSql(tat, p)} <= $${p.nowUs}::bigint + $${p.windowUs}::bigint`;
}

/**
 * `gcraStep` as one upsert, for a data-modifying CTE: returns a row when the attempt is allowed
 * (and charges it), none when refused (and charges nothing). `when`: an extra condition for
 * charging at all (an earlier limit of the same request allowed it).
 */
export function gcraUpsertSql(p: GcraParams, when?: string): string {
  return `INSERT INTO auth_rate_limits AS r (key, tat_us) SELECT $${p.key}::text, $${p.nowUs}::bigint + $${p.intervalUs}::bigint${when ? ` WHERE ${when}` : ''}
    ON CONFLICT (key) DO UPDATE SET tat_us = ${gcraNextSql('r.tat_us', p)}
     WHERE ${gcraAllowsSql('r.tat_us', p)}
    RETURNING 1`;
}

/**
 * `gcraStep`'s verdict without the charge, for a data-modifying CTE: a row when an attempt would
 * be allowed now. `prior` names the CTE that read the key's `tat_us` (without locking it).
 */
export function gcraCheckSql(p: Omit<GcraParams, 'key'>, prior: string, when?: string): string {
  return `SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM ${prior} r WHERE NOT (${gcraAllowsSql('r.tat_us', p)}))${when ? ` AND ${when}` : ''}`;
}

/** The parameters `gcraUpsertSql` expects, in the order of `GcraParams`. */
export function gcraValues(key: string, rule: RateLimitRule, nowUs: number): unknown[] {
  return [key, nowUs, emissionIntervalUs(rule), rule.windowMs * 1000];
}

/** A refused attempt's wait, from the state it found (`prior`, null when another instance had only just created it). */
export function refusedVerdict(prior: string | null, rule: RateLimitRule, nowUs: number): RateLimitVerdict {
  if (prior === null) return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(emissionIntervalUs(rule) / 1000)) };
  return { allowed: false, retryAfterMs: Math.max(1, gcraStep(Number(prior), nowUs, rule).retryAfterMs) };
}

/**
 * Rate-limit state in the app's Postgres (`auth_rate_limits`, created by `sessionMigrations`), so
 * a limit holds across every instance. One statement per attempt: the upsert applies `gcraStep`
 * under the row lock and charges nothing when it refuses. Times come from the app's clock, as
 * every other expiry does.
 *
 * Each attempt commits asynchronously (`synchronous_commit = off` for its own transaction): the
 * row's lock is released as soon as the statement ends instead of after a disk flush, so the
 * attempts on one key (every client behind one address) do not queue for each other's flushes.
 * What a crash can lose is the last fraction of a second of charges, which only ever errs
 * towards allowing an attempt.
 */
export class PostgresRateLimitStore implements SessionRateLimitStore {
  private readonly logger = new Logger('SessionRateLimiter');
  private warnedMissingTable = false;

  constructor(private readonly dataSource: DataSource) {}

  async consume(key: string, rule: RateLimitRule, nowMs: number): Promise<RateLimitVerdict> {
    const nowUs = nowMs * 1000;
    let rows: { allowed: boolean; prior: string | null }[];
    try {
      rows = await runStatement(
        this.dataSource,
        this.logger,
        `WITH prior AS (SELECT tat_us FROM auth_rate_limits WHERE key = $1),
              granted AS (${gcraUpsertSql({ key: 1, nowUs: 2, intervalUs: 3, windowUs: 4 })})
         SELECT EXISTS (SELECT 1 FROM granted) AS allowed, (SELECT tat_us FROM prior)::text AS prior,
                set_config('synchronous_commit', 'off', true) AS "asyncCommit"`,
        gcraValues(key, rule, nowUs),
        'nest_sessions_rate_limit',
      );
    } catch (error) {
      this.explainMissingTable(error);
      throw error;
    }
    const { allowed, prior } = rows[0];
    return allowed ? { allowed: true, retryAfterMs: 0 } : refusedVerdict(prior, rule, nowUs);
  }

  /**
   * Spends one attempt of a session's own refresh limit, kept in its row (`refresh_tat_us`): the
   * charge of a refresh that did not rotate (a rotation spends it in its own update). A session
   * that does not exist has nothing to charge and is allowed: its attempts are the address's.
   * Commits asynchronously, as `consume` does.
   */
  async consumeInSession(sessionId: string, rule: RateLimitRule, nowMs: number): Promise<RateLimitVerdict> {
    const nowUs = nowMs * 1000;
    const p = { nowUs: 2, intervalUs: 3, windowUs: 4 };
    const rows = await runStatement<{ allowed: boolean; prior: string | null }>(
      this.dataSource,
      this.logger,
      `WITH prior AS (SELECT refresh_tat_us AS tat_us FROM auth_sessions WHERE id = $1),
            granted AS (UPDATE auth_sessions s SET refresh_tat_us = ${gcraNextSql('s.refresh_tat_us', p)}
                         WHERE s.id = $1 AND ${gcraAllowsSql('s.refresh_tat_us', p)} RETURNING 1)
       SELECT EXISTS (SELECT 1 FROM granted) OR NOT EXISTS (SELECT 1 FROM prior) AS allowed, (SELECT tat_us FROM prior)::text AS prior,
              set_config('synchronous_commit', 'off', true) AS "asyncCommit"`,
      gcraValues(sessionId, rule, nowUs),
      'nest_sessions_rate_limit_session',
    );
    const { allowed, prior } = rows[0];
    return allowed ? { allowed: true, retryAfterMs: 0 } : refusedVerdict(prior, rule, nowUs);
  }

  /**
   * Records keys that must be seen once only until `untilMs` (DPoP proof ids), many in one
   * statement: a key is new if absent or past its time. Returns the keys that were new; the others
   * were seen before, on this instance or another. `keys` must be distinct (one statement cannot
   * write a row twice). Commits asynchronously, as `consume` does.
   */
  async firstSight(keys: string[], nowMs: number, untilMs: number): Promise<Set<string>> {
    let rows: { fresh: string[] }[];
    try {
      rows = await runStatement(
        this.dataSource,
        this.logger,
        `WITH fresh AS (
           INSERT INTO auth_rate_limits AS r (key, tat_us) SELECT k, $2::bigint FROM unnest($1::text[]) AS k
           ON CONFLICT (key) DO UPDATE SET tat_us = EXCLUDED.tat_us WHERE r.tat_us <= $3::bigint
           RETURNING key)
         SELECT array(SELECT key FROM fresh) AS fresh, set_config('synchronous_commit', 'off', true) AS "asyncCommit"`,
        [keys, untilMs * 1000, nowMs * 1000],
        'nest_sessions_first_sight',
      );
    } catch (error) {
      this.explainMissingTable(error);
      throw error;
    }
    return new Set(rows[0].fresh);
  }

  /** Says once which migration creates the table, when a statement found it missing. */
  explainMissingTable(error: unknown): void {
    if (this.warnedMissingTable || (error as { reason?: unknown })?.reason !== '42P01') return;
    this.warnedMissingTable = true;
    this.logger.error('table auth_rate_limits is missing: run the migrations in sessionMigrations (RateLimits1764200005000)');
  }
}
