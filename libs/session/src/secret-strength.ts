import { deflateRawSync } from 'node:zlib';

/** Bits a secret must carry beyond its words and repeats. */
export const MIN_SECRET_ENTROPY_BITS = 128;

// Words people put in secrets. They carry no randomness, so they are taken out before the rest is
// judged, but they never disqualify a secret: `myapp-jwt-secret-<random>` is as strong as its
// random part.
const WORDS =
  /change|secret|password|passwd|example|placeholder|replace|default|production|staging|development|session|token|super|your|jwt|key|app|dev|prod|test|here|this|value|my|me|the|in/gi;

/**
 * A conservative estimate of the randomness in a secret, in bits: the words above are removed,
 * then what is left counts at most log2(its alphabet) bits a character and at most what deflate
 * cannot squeeze out of it (repeats and runs count once). Random base64url of 32 bytes scores
 * about 250; `changeme-changeme-…` or a repeated character scores near nothing.
 */
export function estimateSecretEntropy(bytes: Buffer): number {
  const rest = bytes.toString('latin1').replace(WORDS, '');
  if (rest.length === 0) return 0;
  const perChar = Math.log2(alphabetSize(rest));
  const byAlphabet = rest.length * perChar;
  // Deflate's literal codes cost about 8 bits per symbol; scale them to this alphabet, and take
  // off the few bytes of block framing.
  const compressed = Math.max(0, deflateRawSync(Buffer.from(rest, 'latin1'), { level: 9 }).length - 2);
  const byCompression = compressed * perChar;
  return Math.min(byAlphabet, byCompression);
}

function alphabetSize(text: string): number {
  let size = 0;
  if (/[0-9]/.test(text)) size += 10;
  if (/[a-z]/.test(text)) size += 26;
  if (/[A-Z]/.test(text)) size += 26;
  if (/[\x20-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]/.test(text)) size += 33;
  if (/[^\x20-\x7e]/.test(text)) size += 161;
  return Math.max(size, 2);
}
