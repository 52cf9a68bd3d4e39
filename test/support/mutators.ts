/**
 * String-level mutations of base64url tokens, in the spirit of Wycheproof's JWS vectors: each
 * returns variants that differ from the input, labelled, for a test to send and expect refused.
 * Pure functions of their input; no randomness, so a failing case is reproducible by its label.
 */

export interface Variant {
  label: string;
  value: string;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Decodes base64url, re-encodes after flipping bit `bit` (0 = most significant of byte 0). */
export function flipBit(segment: string, bit: number): string {
  const bytes = Buffer.from(segment, 'base64url');
  bytes[bit >> 3] ^= 0x80 >> (bit & 7);
  return bytes.toString('base64url');
}

/** A spread of bit positions over a segment: first, last, byte edges, middle. */
export function bitFlips(segment: string, label: string): Variant[] {
  const bits = Buffer.from(segment, 'base64url').length * 8;
  const positions = [...new Set([0, 1, 7, 8, Math.floor(bits / 2), bits - 9, bits - 8, bits - 2, bits - 1].filter((b) => b >= 0 && b < bits))];
  return positions.map((b) => ({ label: `${label}: bit ${b} flipped`, value: flipBit(segment, b) }));
}

/**
 * Other spellings of the same bytes: the last character of an unpadded base64url string carries
 * unused low bits (4 when the byte count is 1 mod 3, 2 when it is 2 mod 3). A decoder ignores
 * them, so a verifier that compares decoded bytes accepts these; one that compares text does not.
 */
export function sameBytesSpellings(segment: string): string[] {
  const bytes = Buffer.from(segment, 'base64url');
  const unused = bytes.length % 3 === 1 ? 4 : bytes.length % 3 === 2 ? 2 : 0;
  if (unused === 0) return [];
  const last = ALPHABET.indexOf(segment[segment.length - 1]);
  const out: string[] = [];
  for (let low = 0; low < 1 << unused; low++) {
    const index = (last & ~((1 << unused) - 1)) | low;
    if (index === last) continue;
    const spelled = segment.slice(0, -1) + ALPHABET[index];
    if (!Buffer.from(spelled, 'base64url').equals(bytes)) throw new Error('sameBytesSpellings produced different bytes');
    out.push(spelled);
  }
  return out;
}

/** Flips the letter case of the character at `index` (null when it is not a letter). */
export function flipCaseAt(value: string, index: number): string | null {
  const c = value[index];
  const flipped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
  return flipped === c ? null : value.slice(0, index) + flipped + value.slice(index + 1);
}

/** Case flips of the first, a middle and the last letter, and the whole string in each case. */
export function caseFlips(value: string, label: string): Variant[] {
  const letters = [...value].map((c, i) => (/[A-Za-z]/.test(c) ? i : -1)).filter((i) => i >= 0);
  const picks = [...new Set([letters[0], letters[Math.floor(letters.length / 2)], letters[letters.length - 1]])].filter((i) => i !== undefined);
  const out: Variant[] = picks.map((i) => ({ label: `${label}: case of char ${i} flipped`, value: flipCaseAt(value, i)! }));
  for (const [name, whole] of [['upper', value.toUpperCase()], ['lower', value.toLowerCase()]] as const) {
    if (whole !== value) out.push({ label: `${label}: all ${name} case`, value: whole });
  }
  return out;
}

/** Standard base64 of the same bytes: `+/` for `-_`, with and without `=` padding. */
export function standardBase64(segment: string, label: string): Variant[] {
  const std = Buffer.from(segment, 'base64url').toString('base64');
  const unpadded = std.replace(/=+$/, '');
  const out: Variant[] = [];
  if (std !== segment) out.push({ label: `${label}: standard base64, padded`, value: std });
  if (unpadded !== segment && unpadded !== std) out.push({ label: `${label}: standard base64 (+/)`, value: unpadded });
  out.push({ label: `${label}: "=" appended`, value: `${segment}=` });
  out.push({ label: `${label}: "==" appended`, value: `${segment}==` });
  return out;
}

/** Replaces the character at `index` (negative counts from the end). */
export function replaceAt(value: string, index: number, by: string): string {
  const i = index < 0 ? value.length + index : index;
  return value.slice(0, i) + by + value.slice(i + 1);
}

/** Inserts `what` before the character at `index` (negative counts from the end). */
export function insertAt(value: string, index: number, what: string): string {
  const i = index < 0 ? value.length + index : index;
  return value.slice(0, i) + what + value.slice(i);
}

/**
 * Non-ASCII that an HTTP header can carry (Latin-1 bytes 0x80–0xFF: Node's client refuses
 * anything above), and UTF-8 byte sequences spelled as Latin-1 so the raw bytes go on the wire.
 */
export const NON_ASCII_IN_HEADERS: Array<[string, string]> = [
  ['é (Latin-1)', 'é'],
  ['NBSP', '\u00a0'],
  ['soft hyphen', '\u00ad'],
  ['UTF-8 bytes of é', Buffer.from('é', 'utf8').toString('latin1')],
  ['UTF-8 bytes of a Cyrillic а', Buffer.from('а', 'utf8').toString('latin1')],
  ['UTF-8 bytes of a fullwidth A', Buffer.from('Ａ', 'utf8').toString('latin1')],
  ['UTF-8 bytes of a zero-width space', Buffer.from('\u200b', 'utf8').toString('latin1')],
];
