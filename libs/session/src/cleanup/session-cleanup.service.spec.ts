import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { resolveSessionOptions } from '../resolve-options';
import type { SessionCleanupOptions } from '../session.options';
import type { SessionStore } from '../store/session.store';
import { SessionEvents } from '../events/session-events';
import { SessionCleanupService } from './session-cleanup.service';

/**
 * The pass's pacing on its own: a store whose batches take a known time on a fake clock, and a
 * setTimeout that records the pauses instead of waiting them out.
 */
describe('SessionCleanupService pacing', () => {
  let now: number;
  let pauses: number[];
  let logged: string[];

  beforeEach(() => {
    now = 0;
    pauses = [];
    jest.spyOn(performance, 'now').mockImplementation(() => now);
    logged = [];
    jest.spyOn(Logger.prototype, 'log').mockImplementation((message: unknown) => void logged.push(String(message)));
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    jest.spyOn(global, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      pauses.push(ms ?? 0);
      now += ms ?? 0;
      fn();
      return 0 as unknown as NodeJS.Timeout;
    }) as typeof setTimeout);
  });
  afterEach(() => jest.restoreAllMocks());

  /**
   * A cleaner over a table holding `rows` eligible rows; each batch takes `batchMs` of the fake
   * clock. From batch `lockLostAt` on, another instance holds the lock.
   */
  const cleaner = (cleanup: SessionCleanupOptions, rows: number, batchMs: number, lockLostAt = Infinity) => {
    let batch = 0;
    let left = rows;
    let planned = 0;
    const store = {
      endOfCleanupBatch: async (_cutoff: Date, _after: unknown, limit: number) => {
        planned = Math.min(limit, left);
        // Like the store: a bound while at least `limit` rows remain, so an exact multiple ends
        // with an empty batch.
        return left >= limit ? { expiresAt: '2026-01-01T00:00:00.000000Z', id: `${left}` } : null;
      },
      deleteEndedRange: async () => {
        now += batchMs;
        if (++batch >= lockLostAt) return { locked: false, deleted: 0, serverMs: 1 };
        left -= planned;
        return { locked: true, deleted: planned, serverMs: batchMs - 1 };
      },
      deleteIdleRateLimits: async () => 0,
      markExpired: async () => [],
    } as unknown as SessionStore;
    const options = resolveSessionOptions(
      { jwtSecret: randomBytes(32), sessionSecret: randomBytes(32), loadUser: () => null, revocation: { bus: 'none' }, cleanup: { enabled: false, ...cleanup } },
      {},
      { NODE_ENV: 'test' },
    );
    return new SessionCleanupService(options.cleanup, store, new SessionEvents(), {} as ModuleRef);
  };

  it('pauses pauseFactor × each batch\'s duration, plus pauseMs, between batches and not after the last', async () => {
    const report = await cleaner({ batchSize: 100, pauseFactor: 0.5, pauseMs: 3 }, 350, 40).runOnce();
    expect(report).toMatchObject({ ran: true, deleted: 350, batches: 4, slowestBatchMs: 39, truncated: false });
    expect(pauses).toEqual([23, 23, 23]);
  });

  it('the default pause factor is half the batch time', async () => {
    await cleaner({ batchSize: 100 }, 250, 20).runOnce();
    expect(pauses).toEqual([10, 10]);
  });

  it('pauseFactor 0 and no pauseMs purge flat out', async () => {
    const report = await cleaner({ batchSize: 100, pauseFactor: 0 }, 1_000, 20).runOnce();
    expect(report).toMatchObject({ deleted: 1_000, batches: 11, truncated: false });
    expect(pauses).toEqual([]);
  });

  it('says which way a pass stopped early: the time budget, or another instance taking the lock', async () => {
    const budget = await cleaner({ batchSize: 100, pauseFactor: 100, timeBudget: 1 }, 1_000, 100).runOnce();
    expect(budget.truncated).toBe(true);
    expect(logged.at(-1)).toContain('(time budget spent; the next pass goes on)');
    const takeover = await cleaner({ batchSize: 100 }, 1_000, 10, 3).runOnce();
    expect(takeover).toMatchObject({ ran: true, deleted: 200, batches: 2, truncated: true });
    expect(logged.at(-1)).toContain('(another instance took over the rest)');
  });

  it('never pauses past the time budget: a slow batch cannot become a long sleep', async () => {
    const report = await cleaner({ batchSize: 100, pauseFactor: 100, timeBudget: 1 }, 1_000, 100).runOnce();
    expect(pauses).toEqual([900]);
    expect(report).toMatchObject({ ran: true, deleted: 100, batches: 1, truncated: true });
  });
});
