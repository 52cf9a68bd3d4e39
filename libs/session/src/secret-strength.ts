import { deflateRawSync } from 'node:zlib';
import { PLACEHOLDER_WORDS } from './placeholder-words';

/**
 * Bits a secret must carry, counting only what looks random. A placeholder detector, not the key
 * size (that is the 32-byte minimum): the published placeholders we know score 90 at most, and
 * random encodings of 16 bytes or more stay above it by tens of bits (resolve-options.spec.ts).
 */
export const MIN_SECRET_ENTROPY_BITS = 100;

const SEPARATOR = /[\s\-_.,:;!'"/]/;

/**
 * A conservative estimate of the randomness in a secret, in bits. Each character counts log2 of
 * the alphabet the whole value draws from (hex, base64, …), except what is predictable: runs of
 * letters made of placeholder words (one bit a letter), repeats and sequences (`aaaa`, `abcd`,
 * `4321`: two bits each), and separators (half a bit). So words neither disqualify a secret nor
 * make it strong: `myapp-jwt-secret-<43 random base64url chars>` scores about 250, while "do not
 * use this value, create a complex secret…" and `changeme-changeme-…` stay far below the bar.
 * Capped by what deflate cannot squeeze out of the value.
 */
export function estimateSecretEntropy(bytes: Buffer): number {
  const text = bytes.toString('latin1');
  if (text.length === 0) return 0;
  const hex = /^[0-9a-f]+$/.test(text) || /^[0-9A-F]+$/.test(text);
  const perChar = Math.log2(hex ? 16 : alphabetSize(text));
  let bits = 0;
  const runs = text.match(/[A-Za-z]+|[0-9]+|[^A-Za-z0-9]+/g) ?? [];
  runs.forEach((run, i) => {
    if (!hex && /^[A-Za-z]+$/.test(run) && standsAlone(runs, i) && readsAsWords(run)) bits += run.length;
    else if (/^[A-Za-z0-9]+$/.test(run)) bits += patterned(run, perChar);
    else for (const c of run) bits += SEPARATOR.test(c) ? 0.5 : perChar;
  });
  const compressed = Math.max(0, deflateRawSync(bytes, { level: 9 }).length - 2);
  return Math.min(bits, compressed * 8);
}

function alphabetSize(text: string): number {
  let size = 0;
  if (/[0-9]/.test(text)) size += 10;
  if (/[a-z]/.test(text)) size += 26;
  if (/[A-Z]/.test(text)) size += 26;
  if (/[\x20-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]/.test(text)) size += 33;
  if (/[^\x20-\x7e]/.test(text)) size += 161;
  return size;
}

/**
 * A word is written between separators (or the ends), as in a sentence or a slug; a long run of
 * letters may be words run together. Short letter runs between digits are what random base64 is
 * made of.
 */
function standsAlone(runs: string[], i: number): boolean {
  const edge = (neighbour: string | undefined, first: boolean) =>
    neighbour === undefined || SEPARATOR.test(first ? neighbour[0] : neighbour[neighbour.length - 1]);
  return runs[i].length >= 8 || (edge(runs[i - 1], false) && edge(runs[i + 1], true));
}

/**
 * Written as words are (lower, UPPER, Capitalised, camelCase) and made entirely of placeholder words
 * (`supersecretkeythatshouldbelonger` is `super secret key that should be longer`). Random
 * letters rarely split that way: the chance falls by about a factor of five a letter (the bound
 * is computed in secret-strength.bounds.spec.ts).
 */
export function readsAsWords(run: string): boolean {
  // lower, UPPER, Capitalised, or words joined in camelCase or PascalCase (`ThisIsMySecretKey`).
  if (!/^([a-z]+|[A-Z]+|[a-z]*(?:[A-Z][a-z]+)+)$/.test(run)) return false;
  return splitsIntoWords(run.toLowerCase());
}

/** Whether `letters` is a concatenation of placeholder words (dynamic programming over prefixes). */
function splitsIntoWords(letters: string): boolean {
  const reachable = [true];
  for (let end = 1; end <= letters.length; end++) {
    reachable[end] = false;
    for (let start = Math.max(0, end - LONGEST_WORD); start < end && !reachable[end]; start++) {
      reachable[end] = reachable[start] && PLACEHOLDER_WORDS.has(letters.slice(start, end));
    }
  }
  return reachable[letters.length];
}

const LONGEST_WORD = Math.max(...[...PLACEHOLDER_WORDS].map((w) => w.length));

/**
 * A character that repeats or continues a step of at most one (`aaaa`, `abcd`, `4321`) adds
 * `PATTERNED_BITS`. Two, not one: a pattern short enough to occur in random text by chance must
 * not cost a random value its place above the bar (secret-strength.bounds.spec.ts).
 */
export const PATTERNED_BITS = 2;

function patterned(run: string, perChar: number): number {
  let bits = 0;
  for (let i = 0; i < run.length; i++) {
    const step = i > 0 ? run.charCodeAt(i) - run.charCodeAt(i - 1) : NaN;
    const continues = i > 1 && Math.abs(step) <= 1 && step === run.charCodeAt(i - 1) - run.charCodeAt(i - 2);
    bits += continues ? PATTERNED_BITS : perChar;
  }
  return bits;
}
