import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { SessionTelemetry } from '../telemetry/session-telemetry';
import { ModuleRef } from '@nestjs/core';
import type { SchedulerRegistry } from '@nestjs/schedule';
import type { CronJob } from 'cron';
import { optionalPeer } from '../optional-peer';
import { randomInt } from 'node:crypto';
import { SESSION_CLEANUP_OPTIONS } from '../session.constants';
import type { ResolvedCleanupOptions } from '../resolve-options';
import { SessionStore, type CleanupCursor } from '../store/session.store';
import { SessionEvents } from '../events/session-events';
import { restoreUserId } from '../user-id';

/** What one cleanup pass did; also emitted as the `cleanup` event. */
export interface CleanupReport {
  /** False when another instance held the cleanup lock: this pass did nothing, by design. */
  ran: boolean;
  deleted: number;
  batches: number;
  durationMs: number;
  /** The longest single batch as the database timed it: how long its row locks were held. */
  slowestBatchMs: number;
  /**
   * True when the pass stopped with rows possibly left: its time budget was spent (the next
   * pass goes on), or another instance took the lock between two batches (and does the rest).
   */
  truncated: boolean;
  /** Rate-limit keys deleted because nothing is counted against them any more. */
  rateLimitKeysDeleted: number;
  /** Sessions found to have run out (idle or absolute) unnoticed: marked ended, `expired` emitted. */
  expired: number;
}

/** Advisory-lock key shared by every instance: the first 32 bits of sha256("nest-sessions cleanup"). */
export const CLEANUP_LOCK_KEY = 0x2f6b_91c3;
const JOB_NAME = 'nest-sessions-cleanup';
/** The gauges count rows exactly up to this many (a few milliseconds of index scan), then estimate. */
const GAUGE_EXACT_UP_TO = 100_000;

/**
 * Deletes ended sessions (expired or revoked) once their retention has passed, in batches that
 * each hold their row locks for one short statement. Every instance may run it: a
 * transaction-scoped advisory lock lets one instance at a time delete, and the others skip.
 *
 * Scheduled through the app's `ScheduleModule.forRoot()` when the app has imported it (the
 * library never does); `runOnce()` does a full pass on demand either way.
 *
 * @example
 * await app.get(SessionCleanupService).runOnce(); // { ran: true, deleted: 1200, batches: 1, ... }
 */
@Injectable()
export class SessionCleanupService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SessionCleanup');
  private job?: CronJob;
  private jitterTimer?: NodeJS.Timeout;
  private running?: Promise<CleanupReport>;

  constructor(
    @Inject(SESSION_CLEANUP_OPTIONS) private readonly cleanup: ResolvedCleanupOptions,
    private readonly store: SessionStore,
    private readonly events: SessionEvents,
    private readonly moduleRef: ModuleRef,
    @Optional() private readonly telemetry?: SessionTelemetry,
  ) {}

  /** Schedules the cleanup when enabled and the app has `ScheduleModule.forRoot()`. */
  onApplicationBootstrap(): void {
    this.watchTable();
    const { enabled, cron } = this.cleanup;
    if (!enabled) return;
    // Optional peers: an app without @nestjs/schedule still starts, with cleanup on demand only.
    const schedule = optionalPeer<{ SchedulerRegistry: typeof SchedulerRegistry }>('@nestjs/schedule');
    const cronPackage = optionalPeer<{ CronJob: typeof CronJob }>('cron');
    if (!schedule || !cronPackage) {
      this.logger.warn('@nestjs/schedule is not installed: scheduled session cleanup is off (runOnce() still works; npm install @nestjs/schedule).');
      return;
    }
    let registry: SchedulerRegistry;
    try {
      registry = this.moduleRef.get(schedule.SchedulerRegistry, { strict: false });
    } catch {
      this.logger.warn('ScheduleModule.forRoot() is not imported: scheduled session cleanup is off (runOnce() still works).');
      return;
    }
    this.job = cronPackage.CronJob.from({ cronTime: cron, onTick: () => this.tick(), start: false });
    if (registry.doesExist('cron', JOB_NAME)) registry.deleteCronJob(JOB_NAME);
    registry.addCronJob(JOB_NAME, this.job as unknown as Parameters<SchedulerRegistry['addCronJob']>[1]);
    this.job.start();
  }

  /** Stops the schedule and waits for a pass under way. */
  async onApplicationShutdown(): Promise<void> {
    void this.job?.stop();
    clearTimeout(this.jitterTimer);
    this.jitterTimer = undefined;
    // Let a pass in progress finish its current batch rather than run against a closing pool.
    await this.running?.catch(() => undefined);
  }

  /** One full pass: batches until nothing eligible is left, or the time budget is spent. */
  runOnce(): Promise<CleanupReport> {
    // Ticks and manual calls on one instance never overlap.
    this.running ??= this.traced().finally(() => (this.running = undefined));
    return this.running;
  }

  private tick(): void {
    if (this.jitterTimer) return; // the previous tick is still waiting out its jitter
    const delay = this.cleanup.jitterMs > 0 ? randomInt(this.cleanup.jitterMs + 1) : 0;
    this.jitterTimer = setTimeout(() => {
      this.jitterTimer = undefined;
      this.runOnce().catch(() => this.logger.error('session cleanup pass failed; the next tick retries'));
    }, delay);
  }

  /** Live sessions and the cleanup's backlog as gauges, each counted at most once a minute here. */
  private watchTable(): void {
    const telemetry = this.telemetry;
    if (!telemetry) return;
    const retentionSeconds = this.cleanup.retentionMs / 1000;
    telemetry.gaugeFromQuery('nest_sessions.sessions.live', 'Open sessions (exact up to 100,000, the planner\'s estimate beyond).', '{session}', () => this.store.countSessions('live', retentionSeconds, GAUGE_EXACT_UP_TO));
    telemetry.gaugeFromQuery('nest_sessions.cleanup.backlog', 'Ended sessions past retention, waiting for the cleanup (exact up to 100,000).', '{session}', () => this.store.countSessions('backlog', retentionSeconds, GAUGE_EXACT_UP_TO));
  }

  private traced(): Promise<CleanupReport> {
    if (!this.telemetry) return this.pass();
    return this.telemetry.span('cleanup', {}, async (span) => {
      const report = await this.pass();
      span.setAttributes({ 'nest_sessions.cleanup.ran': report.ran, 'nest_sessions.cleanup.deleted': report.deleted, 'nest_sessions.cleanup.batches': report.batches });
      return report;
    });
  }

  private async pass(): Promise<CleanupReport> {
    const { retentionMs, batchSize, timeBudgetMs, pauseMs, pauseFactor } = this.cleanup;
    const started = Date.now();
    const expired = await this.markExpired(started, batchSize, timeBudgetMs);
    const cutoff = new Date(started - retentionMs);
    let deleted = 0;
    let batches = 0;
    let after: CleanupCursor | null = null;
    let truncated = false;
    let stoppedBy = 'time budget spent; the next pass goes on';
    let slowestBatchMs = 0;
    for (;;) {
      const batchStarted = performance.now();
      const upTo = await this.store.endOfCleanupBatch(cutoff, after, batchSize);
      const batch = await this.store.deleteEndedRange(CLEANUP_LOCK_KEY, cutoff, after, upTo);
      const batchMs = performance.now() - batchStarted;
      if (batch.locked) this.telemetry?.cleanupBatchDone(batchMs / 1000);
      if (!batch.locked) {
        if (batches === 0) {
          return this.report({ ran: false, deleted, batches, durationMs: Date.now() - started, slowestBatchMs: 0, truncated, rateLimitKeysDeleted: 0, expired });
        }
        truncated = true; // another instance took over between our batches: it finishes the work
        stoppedBy = 'another instance took over the rest';
        break;
      }
      batches += 1;
      deleted += batch.deleted;
      slowestBatchMs = Math.max(slowestBatchMs, Math.round(batch.serverMs * 10) / 10);
      if (!upTo) break; // that batch took the rest
      after = upTo;
      const budgetLeft = timeBudgetMs - (Date.now() - started);
      if (budgetLeft <= 0) {
        truncated = true;
        break;
      }
      // Yield in proportion to what the batch cost: when the database is busy, batches slow
      // down and the purge backs off with them (pt-archiver's --sleep-coef). Never past the
      // budget, so a stalled batch cannot turn into a long sleep that holds up shutdown.
      const pause = Math.min(pauseMs + pauseFactor * batchMs, budgetLeft);
      if (pause >= 1) await new Promise((resolve) => setTimeout(resolve, pause));
      if (Date.now() - started >= timeBudgetMs) {
        truncated = true;
        break;
      }
    }
    const rateLimitKeysDeleted = truncated ? 0 : await this.deleteIdleRateLimits(started, batchSize, timeBudgetMs);
    return this.report({ ran: true, deleted, batches, durationMs: Date.now() - started, slowestBatchMs, truncated, rateLimitKeysDeleted, expired }, stoppedBy);
  }

  /**
   * Sessions that ran out without a refresh to notice are marked ended (with the timeout and the
   * moment) and reported as `expired`, once each, before any is old enough to delete.
   */
  private async markExpired(started: number, batchSize: number, timeBudgetMs: number): Promise<number> {
    let marked = 0;
    while (Date.now() - started < timeBudgetMs) {
      const rows = await this.store.markExpired(new Date(), batchSize);
      for (const row of rows) {
        this.events.emit('expired', { sessionId: row.id, userId: restoreUserId(row.userId, row.userIdNumeric), at: row.endedAt, reason: row.reason });
      }
      marked += rows.length;
      if (rows.length < batchSize) break;
    }
    return marked;
  }

  /**
   * Rate-limit keys whose count has refilled hold nothing a fresh key would not: deleted in
   * batches, inside what is left of the time budget. Only a pass that got the cleanup lock does
   * it, so instances seldom race each other for the same rows (a race is harmless).
   */
  private async deleteIdleRateLimits(started: number, batchSize: number, timeBudgetMs: number): Promise<number> {
    let deleted = 0;
    while (Date.now() - started < timeBudgetMs) {
      const batch = await this.store.deleteIdleRateLimits(new Date(), batchSize);
      deleted += batch;
      if (batch < batchSize) break;
    }
    return deleted;
  }

  private report(report: CleanupReport, stoppedBy = ''): CleanupReport {
    if (report.ran) {
      this.logger.log(
        `session cleanup: deleted ${report.deleted} ended sessions in ${report.batches} batches, ${report.durationMs} ms ` +
          `(slowest batch ${report.slowestBatchMs} ms), ${report.rateLimitKeysDeleted} idle rate-limit keys, ${report.expired} newly expired` +
          (report.truncated ? ` (${stoppedBy})` : ''),
      );
    } else {
      this.logger.debug?.('session cleanup skipped: another instance holds the lock');
    }
    this.events.emit('cleanup', report);
    return report;
  }
}
