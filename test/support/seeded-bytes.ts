import { createHash } from 'node:crypto';

/**
 * Bytes as a CSPRNG would give them, but repeatable: SHA-256 of a seed and a counter. A property
 * over "random" values is then the same property on every run, and a failure names its seed.
 */
export function seededBytes(seed: string): (n: number) => Buffer {
  let counter = 0;
  let pool = Buffer.alloc(0);
  return (n: number) => {
    while (pool.length < n) {
      pool = Buffer.concat([pool, createHash('sha256').update(`${seed}:${counter++}`).digest()]);
    }
    const out = pool.subarray(0, n);
    pool = pool.subarray(n);
    return Buffer.from(out);
  };
}

/** A seeded choice among `items`, and a seeded integer below `n`. */
export function seededPicker(seed: string) {
  const bytes = seededBytes(seed);
  const below = (n: number) => bytes(4).readUInt32BE(0) % n;
  return { below, pick: <T>(items: readonly T[]): T => items[below(items.length)], bytes };
}
