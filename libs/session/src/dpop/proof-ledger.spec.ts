import { PostgresRateLimitStore } from '../rate-limit/postgres-rate-limit.store';
import type { SessionRateLimiter } from '../rate-limit/session-rate-limiter';
import { ProofLedger } from './proof-ledger';

/** A Postgres store whose statement is a set in memory; each call is one statement. */
class FakeStore extends PostgresRateLimitStore {
  readonly seen = new Set<string>();
  readonly statements: string[][] = [];
  failNext = false;

  constructor() {
    super({} as never);
  }

  override async firstSight(keys: string[]): Promise<Set<string>> {
    this.statements.push(keys);
    await new Promise((r) => setTimeout(r, 5));
    if (this.failNext) {
      this.failNext = false;
      throw new Error('database down');
    }
    const fresh = keys.filter((k) => !this.seen.has(k));
    for (const k of fresh) this.seen.add(k);
    return new Set(fresh);
  }
}

function ledgerOn(store: FakeStore) {
  const limiter = { store, storedKey: (key: string) => `h:${key}` } as unknown as SessionRateLimiter;
  return new ProofLedger(limiter);
}

describe('ProofLedger', () => {
  it('admits each id once, across batches', async () => {
    const store = new FakeStore();
    const ledger = ledgerOn(store);
    expect(await ledger.firstSight('a', 70_000)).toBe(true);
    expect(await ledger.firstSight('a', 70_000)).toBe(false);
    expect(await ledger.firstSight('b', 70_000)).toBe(true);
  });

  it('writes the ids that arrive while a statement is out in one statement, and a repeat inside a batch is the replay', async () => {
    const store = new FakeStore();
    const ledger = ledgerOn(store);
    const first = ledger.firstSight('x', 70_000);
    const rest = ['p', 'q', 'p', 'r'].map((id) => ledger.firstSight(id, 70_000));
    expect(await first).toBe(true);
    expect(await Promise.all(rest)).toEqual([true, true, false, true]);
    expect(store.statements).toEqual([['h:x'], ['h:p', 'h:q', 'h:r']]);
  });

  it('a failed statement fails every request of its batch (no id is admitted unrecorded), and the next batch goes on', async () => {
    const store = new FakeStore();
    const ledger = ledgerOn(store);
    store.failNext = true;
    await expect(Promise.all([ledger.firstSight('m', 70_000), ledger.firstSight('n', 70_000)])).rejects.toThrow('database down');
    expect(await ledger.firstSight('m', 70_000)).toBe(true);
  });
});
