import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { resolveSessionOptions } from '../resolve-options';
import type { SessionStore } from '../store/session.store';
import { SessionLiveness } from './session-liveness';

/** The strict-mode cache on its own, with a store whose answers the test releases by hand. */
describe('SessionLiveness', () => {
  const sid = '3b241101-e2bb-4255-8caf-4136c566a962';
  let pending: Array<(live: { lastSeenAt: Date } | null) => void>;
  let reads: number;
  let liveness: SessionLiveness;

  beforeEach(() => {
    pending = [];
    reads = 0;
    const store = {
      findLive: () => {
        reads += 1;
        return new Promise((resolve) => pending.push(resolve));
      },
      touch: () => Promise.resolve(),
    } as unknown as SessionStore;
    const options = resolveSessionOptions(
      { jwtSecret: randomBytes(32), sessionSecret: randomBytes(32), loadUser: () => null, revocationBus: 'none', revocationCache: { ttl: 5 } },
      {},
      { NODE_ENV: 'test' },
    );
    liveness = new SessionLiveness(options, store, {} as DataSource);
  });

  const answer = async (live: boolean) => {
    pending.shift()!(live ? { lastSeenAt: new Date() } : null);
    await new Promise((r) => setImmediate(r));
  };

  it('a miss asks the store once; the next request is answered from the cache', async () => {
    const first = liveness.isLive(sid, 'u1');
    await answer(true);
    expect(await first).toBe(true);
    expect(liveness.isCachedLive(sid, 'u1')).toBe(true);
    expect(reads).toBe(1);
    expect(liveness.isCachedLive(sid, 'someone-else')).toBe(false);
  });

  it('a revocation that arrives while a check is in flight is not undone by that check', async () => {
    const inFlight = liveness.isLive(sid, 'u1');
    await liveness.revoked([sid]);
    await answer(true); // the row was read before the revocation committed
    await inFlight;
    expect(liveness.isCachedLive(sid, 'u1')).toBe(false);
  });

  it('a revoked session leaves the cache at once', async () => {
    const first = liveness.isLive(sid, 'u1');
    await answer(true);
    await first;
    await liveness.revoked([sid]);
    expect(liveness.isCachedLive(sid, 'u1')).toBe(false);
  });

  it('past half its TTL an entry still answers and is re-checked in the background; a closed session then leaves', async () => {
    const now = jest.spyOn(Date, 'now');
    const t0 = 1_800_000_000_000;
    now.mockReturnValue(t0);
    try {
      const first = liveness.isLive(sid, 'u1');
      await answer(true);
      await first;
      now.mockReturnValue(t0 + 3_000);
      expect(liveness.isCachedLive(sid, 'u1')).toBe(true);
      expect(liveness.isCachedLive(sid, 'u1')).toBe(true);
      expect(reads).toBe(2); // one background check, not one per request
      await answer(false);
      expect(liveness.isCachedLive(sid, 'u1')).toBe(false);
    } finally {
      now.mockRestore();
    }
  });
});
