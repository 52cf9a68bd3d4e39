import { estimateSecretEntropy, MIN_SECRET_ENTROPY_BITS, PATTERNED_BITS, readsAsWords } from './secret-strength';
import { PLACEHOLDER_WORDS } from './placeholder-words';
import { seededBytes } from '../../../test/support/seeded-bytes';

/**
 * The secret check must not refuse a value drawn from a CSPRNG: 128 random bits or more, in any
 * common encoding, at the 32-byte minimum length. For the encodings where the margin is thin
 * (hex carries 4 bits a character, digits and single-case letters under 5) the chance of a
 * refusal is computed exactly, from the rule's own constants; the others carry 92 bits or more
 * above the bar and are checked over a large seeded sample, as the tight ones are.
 */
const NEGLIGIBLE = 2 ** -40;

/**
 * P(at least `need` characters continue a step of at most one) in `length` characters drawn
 * uniformly from `size` symbols with consecutive codes. Hex and mixed-case letters are not one
 * consecutive range (`9`→`a`, `Z`→`a`); counting them as one overstates the chance, so this is an
 * upper bound for them and exact for digits and single-case letters.
 */
function patternTail(size: number, length: number, need: number): number {
  // State: the previous symbol, the previous step (-1, 0, +1, or anything else), continuations so far (capped at need).
  const OTHER = 3;
  const index = (prev: number, step: number, count: number) => (prev * 4 + step) * (need + 1) + count;
  let states = new Float64Array(size * 4 * (need + 1));
  for (let c = 0; c < size; c++) states[index(c, OTHER, 0)] = 1 / size;
  for (let position = 1; position < length; position++) {
    const next = new Float64Array(states.length);
    for (let prev = 0; prev < size; prev++) {
      for (let step = 0; step < 4; step++) {
        for (let count = 0; count <= need; count++) {
          const p = states[index(prev, step, count)];
          if (p === 0) continue;
          for (let c = 0; c < size; c++) {
            const d = c - prev;
            const nextStep = Math.abs(d) <= 1 ? d + 1 : OTHER;
            const continues = step !== OTHER && nextStep === step;
            next[index(c, nextStep, Math.min(need, count + (continues ? 1 : 0)))] += p / size;
          }
        }
      }
    }
    states = next;
  }
  let tail = 0;
  for (let prev = 0; prev < size; prev++) for (let step = 0; step < 4; step++) tail += states[index(prev, step, need)];
  return tail;
}

/**
 * An upper bound on P(`length` uniform letters split into placeholder words): the expected number
 * of splittings, g(n) = Σ over words w of 26^-|w| · g(n - |w|).
 */
function wordsBound(length: number): number {
  const g = [1];
  for (let n = 1; n <= length; n++) {
    g[n] = 0;
    for (const word of PLACEHOLDER_WORDS) if (word.length <= n) g[n] += 26 ** -word.length * g[n - word.length];
  }
  return g[length];
}

/** How many patterned characters it takes to bring `length` characters of `perChar` bits under the bar. */
const patternedNeeded = (length: number, perChar: number) => Math.ceil((length * perChar - MIN_SECRET_ENTROPY_BITS) / (perChar - PATTERNED_BITS));

describe('the secret check never refuses a random value (exact bounds)', () => {
  const log2 = (p: number) => (p === 0 ? -Infinity : Math.log2(p));

  it('the bound itself is right: it matches a count over every string of a small alphabet', () => {
    // 4 symbols, 7 characters: 16,384 strings, counted one by one.
    let hits = 0;
    for (let n = 0; n < 4 ** 7; n++) {
      const s = Array.from({ length: 7 }, (_, i) => Math.floor(n / 4 ** i) % 4);
      let continuations = 0;
      for (let i = 2; i < 7; i++) if (Math.abs(s[i] - s[i - 1]) <= 1 && s[i] - s[i - 1] === s[i - 1] - s[i - 2]) continuations++;
      if (continuations >= 3) hits++;
    }
    expect(patternTail(4, 7, 3)).toBeCloseTo(hits / 4 ** 7, 12);
  });

  it.each<[string, number, number, number]>([
    // encoding, symbols, characters (the fewest that are 32 bytes and 128 bits), bits a character as counted
    ['16 random bytes in hex', 16, 32, 4],
    ['39 random digits (read as hex)', 10, 39, 4],
    ['32 random lowercase letters', 26, 32, Math.log2(26)],
    ['32 random mixed-case letters', 52, 32, Math.log2(52)],
  ])('%s: repeats and sequences bring it under the bar with probability below 2^-40', (_label, size, length, perChar) => {
    const need = patternedNeeded(length, perChar);
    const p = patternTail(size, length, need);
    expect(p).toBeGreaterThan(0);
    expect(log2(p)).toBeLessThan(log2(NEGLIGIBLE));
  });

  it('32 random letters of one case split into placeholder words with probability below 2^-40 (they would then count one bit each)', () => {
    expect(wordsBound(32)).toBeLessThan(NEGLIGIBLE);
    // A random value that letter pairs once read as English (32 bits): no longer words.
    expect(readsAsWords('prxbecleluseersunorhlfidcsedrfor')).toBe(false);
    expect(estimateSecretEntropy(Buffer.from('prxbecleluseersunorhlfidcsedrfor'))).toBeGreaterThan(150);
  });

  it('mixed-case letters read as words only as lower, UPPER, Capitalised or camelCase: that pattern, times the split, is below 2^-40 for 32 of them', () => {
    expect(readsAsWords('SuperSecret')).toBe(true);
    expect(readsAsWords('superSecretKey')).toBe(true);
    expect(readsAsWords('SUperSecret')).toBe(false);
    // Case patterns of n letters the rule takes: no two capitals in a row and a lower-case last
    // letter (all lower included), or all capitals.
    let endsLower = 1;
    let endsUpper = 1;
    for (let n = 2; n <= 32; n++) [endsLower, endsUpper] = [endsLower + endsUpper, endsLower];
    const casePattern = (endsLower + 1) / 2 ** 32;
    expect(casePattern * wordsBound(32)).toBeLessThan(NEGLIGIBLE);
  });
});

describe('the secret check never refuses a random value (a large seeded sample of every common encoding)', () => {
  const letters = (bytes: (n: number) => Buffer, n: number, alphabet: string) => {
    // Rejection sampling, as a careful generator draws them: uniform over the alphabet.
    let out = '';
    while (out.length < n) for (const b of bytes(n)) if (b < 256 - (256 % alphabet.length) && out.length < n) out += alphabet[b % alphabet.length];
    return out;
  };
  const LOWER = 'abcdefghijklmnopqrstuvwxyz';
  const encodings: Array<[string, (bytes: (n: number) => Buffer) => string | Buffer]> = [
    ['32 raw bytes', (b) => b(32)],
    ['16 bytes in hex', (b) => b(16).toString('hex')],
    ['16 bytes in HEX', (b) => b(16).toString('hex').toUpperCase()],
    ['24 bytes in base64', (b) => b(24).toString('base64')],
    ['24 bytes in base64url', (b) => b(24).toString('base64url')],
    ['32 bytes in base64url', (b) => b(32).toString('base64url')],
    ['39 digits', (b) => letters(b, 39, '0123456789')],
    ['32 lowercase letters', (b) => letters(b, 32, LOWER)],
    ['32 uppercase letters', (b) => letters(b, 32, LOWER.toUpperCase())],
    ['32 mixed-case letters', (b) => letters(b, 32, LOWER + LOWER.toUpperCase())],
    ['32 letters and digits', (b) => letters(b, 32, `${LOWER}${LOWER.toUpperCase()}0123456789`)],
  ];

  it.each(encodings)('%s: 20,000 seeded values all pass, each by a margin', (label, make) => {
    const seed = `secret-strength:${label}`;
    const bytes = seededBytes(seed);
    let lowest = { bits: Infinity, value: '' };
    for (let i = 0; i < 20_000; i++) {
      const value = make(bytes);
      const bits = estimateSecretEntropy(Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1'));
      if (bits < lowest.bits) lowest = { bits, value: Buffer.isBuffer(value) ? value.toString('hex') : value };
    }
    // On failure the message names the seed, the encoding and the value.
    expect({ seed, lowest }).toEqual({ seed, lowest: { bits: expect.any(Number), value: lowest.value } });
    expect(lowest.bits).toBeGreaterThanOrEqual(MIN_SECRET_ENTROPY_BITS + 5);
  });
});
