import type { SessionRateLimiter } from '../rate-limit/session-rate-limiter';
import { PostgresRateLimitStore } from '../rate-limit/postgres-rate-limit.store';

interface Waiting {
  key: string;
  resolve: (fresh: boolean) => void;
  reject: (error: unknown) => void;
}

/** At most this many proof ids go in one statement. */
const MAX_BATCH = 500;

/**
 * The proof ids seen within the window, on every instance: a DPoP request is admitted only if its
 * proof's id is new. The ids live in the rate-limit store, so all instances share them. On the
 * Postgres store the ids that arrive while a statement is out are written together in the next
 * one, a group commit: a per-request write cost the DPoP route about a third of its throughput
 * (bench part `bound`), and every request still waits for its own answer, so a replay is never
 * admitted in between. Other stores get one `consume` per id.
 */
export class ProofLedger {
  private waiting: Waiting[] = [];
  private writing = false;

  constructor(private readonly limiter: SessionRateLimiter) {}

  /** True the first time `key` is seen within `windowMs`, false for a replay. */
  firstSight(key: string, windowMs: number): Promise<boolean> {
    const store = this.limiter.store;
    if (!(store instanceof PostgresRateLimitStore)) return this.limiter.consumeOnce(key, windowMs);
    return new Promise((resolve, reject) => {
      this.waiting.push({ key, resolve, reject });
      if (!this.writing) void this.write(store, windowMs);
    });
  }

  private async write(store: PostgresRateLimitStore, windowMs: number): Promise<void> {
    this.writing = true;
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, MAX_BATCH);
      // The same id twice in one batch: the later one is the replay, and one statement cannot write a row twice.
      const first = new Map<string, Waiting>();
      for (const entry of batch) {
        const stored = this.limiter.storedKey(entry.key);
        if (first.has(stored)) entry.resolve(false);
        else first.set(stored, entry);
      }
      const nowMs = Date.now();
      try {
        const fresh = await store.firstSight([...first.keys()], nowMs, nowMs + windowMs);
        for (const [stored, entry] of first) entry.resolve(fresh.has(stored));
      } catch (error) {
        for (const entry of first.values()) entry.reject(error);
      }
    }
    this.writing = false;
  }
}
