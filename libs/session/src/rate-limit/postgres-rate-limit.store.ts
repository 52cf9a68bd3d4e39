import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { runStatement } from '../store/run-statement';
import { emissionIntervalUs, gcraStep, type RateLimitRule, type RateLimitVerdict } from './gcra';
import type { SessionRateLimitStore } from './session-rate-limit-store';

const START = `CASE WHEN r.tat_us > $2::bigint + $4::bigint THEN $2::bigint ELSE GREATEST(r.tat_us, $2::bigint) END`;

/**
 * Rate-limit state in the app's Postgres (`auth_rate_limits`, created by `sessionMigrations`), so
 * a limit holds across every instance. One statement per attempt: the upsert applies `gcraStep`
 * under the row lock and charges nothing when it refuses. Times come from the app's clock, as
 * every other expiry does.
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
        // gcraStep in SQL ($2 now, $3 interval, $4 window): the start (now for fresh or foreign
        // state) plus one interval must stay within the window.
        `WITH prior AS (SELECT tat_us FROM auth_rate_limits WHERE key = $1),
              granted AS (
                INSERT INTO auth_rate_limits AS r (key, tat_us) VALUES ($1, $2::bigint + $3::bigint)
                ON CONFLICT (key) DO UPDATE
                   SET tat_us = ${START} + $3::bigint
                 WHERE ${START} + $3::bigint <= $2::bigint + $4::bigint
                RETURNING 1)
         SELECT EXISTS (SELECT 1 FROM granted) AS allowed, (SELECT tat_us FROM prior)::text AS prior`,
        [key, nowUs, emissionIntervalUs(rule), rule.windowMs * 1000],
      );
    } catch (error) {
      this.explainMissingTable(error);
      throw error;
    }
    const { allowed, prior } = rows[0];
    if (allowed) return { allowed: true, retryAfterMs: 0 };
    // A row another instance had only just created reads as absent: then one interval.
    if (prior === null) return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(emissionIntervalUs(rule) / 1000)) };
    return { allowed: false, retryAfterMs: Math.max(1, gcraStep(Number(prior), nowUs, rule).retryAfterMs) };
  }

  private explainMissingTable(error: unknown): void {
    if (this.warnedMissingTable || (error as { reason?: unknown })?.reason !== '42P01') return;
    this.warnedMissingTable = true;
    this.logger.error('table auth_rate_limits is missing: run the migrations in sessionMigrations (RateLimits1764200005000)');
  }
}
