import { randomBase64url } from './random-pool';

describe('randomBase64url', () => {
  it('hands out distinct values of the asked length, across refills of the pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const value = randomBase64url(32);
      expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
      seen.add(value);
    }
    expect(seen.size).toBe(1_000); // 32 KB drawn through a 4 KB pool: refilled eight times
    expect(randomBase64url(5_000)).toHaveLength(Math.ceil((5_000 * 4) / 3));
  });
});
