import { deflateRawSync } from 'node:zlib';

/**
 * Bits a secret must carry, counting only what looks random. A placeholder detector, not the key
 * size (that is the 32-byte minimum): the published placeholders we know score 90 at most, and
 * random encodings of 16 bytes or more stay above it by tens of bits (resolve-options.spec.ts).
 */
export const MIN_SECRET_ENTROPY_BITS = 100;

// Frequent English letter pairs. A run of letters made mostly of them reads as words, which carry
// about one bit a letter, not the log2(26) of random letters.
const COMMON_BIGRAMS = new Set(
  (
    'th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le ve co me de hi ri ro ic ne ea ra ce li ch ll be ' +
    'ma si om ur ca el ta la ns di fo ho pe ec pr no ct us ac ot il tr ly nc et ut ss so rs un lo wi ge ie wh ee wa em ke ey ow ul ' +
    'ad ag ai am ap av bl bo br bu cl cr da do ea ef ev ex fa fe fi fr ga gh gr id ig im ir iv ki ld lu mi mo mp na ni od oo op os pa pl po qu ' +
    'rd re rt sa sc sh sp su ty ua ue um up ur va vi we wo'
  ).split(' '),
);
const SEPARATOR = /[\s\-_.,:;!'"/]/;

/**
 * A conservative estimate of the randomness in a secret, in bits. Each character counts log2 of
 * the alphabet the whole value draws from (hex, base64, …), except what is predictable: runs of
 * letters that read as English words (one bit a letter), repeats and sequences (`aaaa`, `abcd`,
 * `4321`: one bit each), and separators (half a bit). So words neither disqualify a secret nor
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

/** Written as words are (lower, UPPER or Capitalised) and made mostly of common English letter pairs. */
function readsAsWords(run: string): boolean {
  if (!/^([a-z]+|[A-Z]+|[A-Z][a-z]+)$/.test(run)) return false;
  const letters = run.toLowerCase();
  if (letters.length < 3) return letters.length === 1 || COMMON_BIGRAMS.has(letters);
  let common = 0;
  for (let i = 1; i < letters.length; i++) if (COMMON_BIGRAMS.has(letters.slice(i - 1, i + 1))) common++;
  // Longer runs need more: random letters hit a common pair about one time in four.
  return common / (letters.length - 1) >= (letters.length >= 8 ? 0.7 : 0.5);
}

/** A character that repeats or continues a step of at most one (`aaaa`, `abcd`, `4321`) adds one bit. */
function patterned(run: string, perChar: number): number {
  let bits = 0;
  for (let i = 0; i < run.length; i++) {
    const step = i > 0 ? run.charCodeAt(i) - run.charCodeAt(i - 1) : NaN;
    const continues = i > 1 && Math.abs(step) <= 1 && step === run.charCodeAt(i - 1) - run.charCodeAt(i - 2);
    bits += continues ? 1 : perChar;
  }
  return bits;
}
