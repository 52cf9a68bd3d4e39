import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { resolveSessionOptions } from '../resolve-options';
import type { SessionStore } from '../store/session.store';
import { SessionLiveness } from './session-liveness';
import type { RevocationListener, RevocationTransport } from './revocation-message';

/** The strict-mode cache on its own, with a store whose answers the test releases by hand. */
describe('SessionLiveness', () => {
  const sid = '3b241101-e2bb-4255-8caf-4136c566a962';
  let pending: Array<(live: { lastSeenAt: Date; expiresAt: Date } | null) => void>;
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
      { jwtSecret: randomBytes(32), sessionSecret: randomBytes(32), loadUser: () => null, revocation: { bus: 'none', cache: { ttl: 5 } } },
      {},
      { NODE_ENV: 'test' },
    );
    liveness = new SessionLiveness(options, store, {} as DataSource);
  });

  const answer = async (live: boolean) => {
    pending.shift()!(live ? { lastSeenAt: new Date(), expiresAt: new Date(Date.now() + 3_600_000) } : null);
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

/** The cache behind a broadcast bus: it answers only while the listener's heartbeat comes back. */
describe('SessionLiveness with a heartbeat', () => {
  const sid = '3b241101-e2bb-4255-8caf-4136c566a962';
  const t0 = 1_800_000_000_000;
  let reads: number;
  let clock: number;
  let beats: string[];
  let restarts: number;
  let listener: RevocationListener;
  let liveness: SessionLiveness;
  let dateNow: jest.SpyInstance;

  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    clock = t0;
    dateNow = jest.spyOn(Date, 'now').mockImplementation(() => clock);
    reads = 0;
    beats = [];
    restarts = 0;
    const store = {
      findLive: () => {
        reads += 1;
        return Promise.resolve({ lastSeenAt: new Date(clock), expiresAt: new Date(clock + 3_600_000) });
      },
      touch: () => Promise.resolve(),
    } as unknown as SessionStore;
    const options = resolveSessionOptions(
      { jwtSecret: randomBytes(32), sessionSecret: randomBytes(32), loadUser: () => null, revocation: { bus: 'postgres', heartbeat: 1, cache: { maxAge: 60 } } },
      {},
      { NODE_ENV: 'test' },
    );
    const transport: RevocationTransport = {
      start: (l) => (listener = l),
      publish: () => Promise.resolve(),
      heartbeat: (nonce) => {
        beats.push(nonce);
        return Promise.resolve();
      },
      restart: () => (restarts += 1),
      close: () => Promise.resolve(),
      isConnected: () => true,
    };
    liveness = new (class extends SessionLiveness {
      protected override createTransport() {
        return transport;
      }
    })(options, store, {} as DataSource);
    liveness.onModuleInit();
  });

  afterEach(async () => {
    await liveness.onApplicationShutdown();
    dateNow.mockRestore();
    jest.useRealTimers();
  });

  const advance = (ms: number) => {
    clock += ms;
    jest.advanceTimersByTime(ms);
  };
  const echo = () => listener.onHeartbeat(beats.at(-1)!);
  const cacheOnce = async () => {
    expect(await liveness.isLive(sid, 'u1')).toBe(true);
  };

  it('connected but not yet heard: every check reads the store', async () => {
    listener.onConnect();
    await cacheOnce();
    await cacheOnce();
    expect(reads).toBe(2);
    expect(liveness.isListenerConnected()).toBe(false);
  });

  it('once the heartbeat comes back, an entry answers for up to maxAge, re-read after half of it', async () => {
    listener.onConnect();
    echo();
    expect(liveness.isListenerConnected()).toBe(true);
    await cacheOnce();
    for (let s = 0; s < 29; s++) {
      advance(1_000);
      echo();
      expect(liveness.isCachedLive(sid, 'u1')).toBe(true);
    }
    expect(reads).toBe(1);
    advance(1_500);
    echo();
    expect(liveness.isCachedLive(sid, 'u1')).toBe(true);
    expect(reads).toBe(2); // past half of maxAge: one background re-read
  });

  it('a heartbeat two periods late stops the cache at once, reconnects, and entries from before never answer again', async () => {
    listener.onConnect();
    echo();
    await cacheOnce();
    expect(liveness.isCachedLive(sid, 'u1')).toBe(true);
    // The listener goes silent: no more echoes.
    advance(2_001);
    expect(liveness.isCachedLive(sid, 'u1')).toBe(false);
    expect(liveness.isListenerConnected()).toBe(false);
    advance(1_000);
    expect(restarts).toBe(1);
    // Checks meanwhile read the store and cache nothing.
    await cacheOnce();
    await cacheOnce();
    expect(reads).toBe(3);
    // Reconnected and heard again: the cache works again, from fresh reads only.
    listener.onConnect();
    echo();
    expect(liveness.isCachedLive(sid, 'u1')).toBe(false);
    await cacheOnce();
    expect(liveness.isCachedLive(sid, 'u1')).toBe(true);
  });

  it('a connection that never hears its heartbeat (a pooler) is dropped once, then at most once a minute', async () => {
    listener.onConnect();
    advance(3_000);
    expect(restarts).toBe(1);
    listener.onConnect(); // as deaf as the first
    advance(30_000);
    expect(restarts).toBe(1);
    expect(liveness.isListenerConnected()).toBe(false);
    advance(31_000);
    expect(restarts).toBe(2);
  });

  it('a heartbeat it did not send proves nothing', async () => {
    listener.onConnect();
    listener.onHeartbeat('not-one-of-ours');
    expect(liveness.isListenerConnected()).toBe(false);
    await cacheOnce();
    expect(liveness.isCachedLive(sid, 'u1')).toBe(false);
  });

  it('a disconnection ends every entry', async () => {
    listener.onConnect();
    echo();
    await cacheOnce();
    listener.onDisconnect();
    listener.onConnect();
    echo();
    expect(liveness.isCachedLive(sid, 'u1')).toBe(false);
  });
});
