import { emissionIntervalUs, gcraStep, type RateLimitRule } from './gcra';
import { MemoryRateLimitStore } from './memory-rate-limit.store';

/** Spends `n` attempts at one instant; returns the verdicts in order. */
function burst(rule: RateLimitRule, n: number, nowMs: number, start: number | null = null) {
  let tat = start;
  const allowed: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const step = gcraStep(tat, nowMs * 1000, rule);
    allowed.push(step.allowed);
    tat = step.tatUs;
  }
  return { allowed, tat };
}

describe('gcraStep (the rate-limit arithmetic every store applies)', () => {
  it.each([
    [1, 1_000],
    [5, 60_000],
    [7, 60_000],
    [30, 60_000],
    [120, 60_000],
    [1_000, 1_000],
  ])('a fresh key allows a burst of exactly %i per %i ms, and refuses the next', (limit, windowMs) => {
    const { allowed } = burst({ limit, windowMs }, limit + 1, 1_700_000_000_000);
    expect(allowed.filter(Boolean)).toHaveLength(limit);
    expect(allowed[limit]).toBe(false);
  });

  it('a refusal says how long to wait, and one attempt is allowed exactly then, not before', () => {
    const rule = { limit: 5, windowMs: 60_000 };
    const now = 1_700_000_000_000;
    const { tat } = burst(rule, 5, now);
    const refused = gcraStep(tat, now * 1000, rule);
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 12_000 });
    expect(gcraStep(tat, (now + 11_999) * 1000, rule).allowed).toBe(false);
    const later = gcraStep(tat, (now + 12_000) * 1000, rule);
    expect(later.allowed).toBe(true);
    expect(gcraStep(later.tatUs, (now + 12_000) * 1000, rule).allowed).toBe(false);
  });

  it('a refused attempt costs nothing: hammering while limited does not extend the wait', () => {
    const rule = { limit: 3, windowMs: 3_000 };
    const now = 1_700_000_000_000;
    const { tat } = burst(rule, 3, now);
    for (let i = 0; i < 1_000; i++) expect(gcraStep(tat, now * 1000, rule)).toMatchObject({ allowed: false, tatUs: tat });
    expect(gcraStep(tat, (now + 1_000) * 1000, rule).allowed).toBe(true);
  });

  it('a full window after the last attempt, a key is fresh again (a whole burst)', () => {
    const rule = { limit: 4, windowMs: 10_000 };
    const now = 1_700_000_000_000;
    const { tat } = burst(rule, 4, now);
    expect(burst(rule, 5, now + 10_000, tat).allowed).toEqual([true, true, true, true, false]);
  });

  it('state written by a clock far ahead (more than a window) is treated as fresh, not trusted', () => {
    const rule = { limit: 2, windowMs: 60_000 };
    const now = 1_700_000_000_000;
    expect(burst(rule, 3, now, (now + 86_400_000) * 1000).allowed).toEqual([true, true, false]);
    // Within a window ahead it is this clock's own state: the key is spent.
    expect(burst(rule, 1, now, (now + 60_000) * 1000).allowed).toEqual([false]);
  });

  it('the interval is rounded down, so a burst never comes out one short', () => {
    expect(emissionIntervalUs({ limit: 7, windowMs: 60_000 })).toBe(8_571_428);
    expect(emissionIntervalUs({ limit: 1_000_000_000, windowMs: 1_000 })).toBe(1);
  });
});

describe('MemoryRateLimitStore', () => {
  it('counts keys apart and answers retryAfterMs', async () => {
    const store = new MemoryRateLimitStore();
    const rule = { limit: 2, windowMs: 60_000 };
    const now = 1_700_000_000_000;
    expect(await store.consume('a', rule, now)).toEqual({ allowed: true, retryAfterMs: 0 });
    expect(await store.consume('a', rule, now)).toEqual({ allowed: true, retryAfterMs: 0 });
    expect(await store.consume('a', rule, now)).toEqual({ allowed: false, retryAfterMs: 30_000 });
    expect(await store.consume('b', rule, now)).toEqual({ allowed: true, retryAfterMs: 0 });
  });
});
