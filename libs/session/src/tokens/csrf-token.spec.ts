import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mintCsrfToken, verifyCsrfToken } from './csrf-token';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SHAPE = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

/** Replaces the character at `index` by one whose 6-bit value differs in its top bit, so the decoded bytes change too. */
function tamper(token: string, index: number): string {
  const replacement = ALPHABET[ALPHABET.indexOf(token[index]) ^ 0b100000];
  return token.slice(0, index) + replacement + token.slice(index + 1);
}

describe('CSRF tokens', () => {
  const key = randomBytes(32);
  const sessionId = randomUUID();

  it('have the shape `<22-char nonce>.<43-char tag>`', () => {
    const token = mintCsrfToken(key, sessionId);
    expect(token).toMatch(SHAPE);
    expect(Buffer.from(token.split('.')[0], 'base64url')).toHaveLength(16);
    expect(Buffer.from(token.split('.')[1], 'base64url')).toHaveLength(32);
  });

  it('carry HMAC-SHA-256(key, "<session id>.<nonce>") as the tag', () => {
    const token = mintCsrfToken(key, sessionId);
    const [nonce, tag] = token.split('.');
    expect(tag).toBe(createHmac('sha256', key).update(`${sessionId}.${nonce}`).digest('base64url'));
  });

  it('use a fresh nonce each time, and every minted token verifies', () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const token = mintCsrfToken(key, sessionId);
      expect(verifyCsrfToken(key, sessionId, token)).toBe(true);
      tokens.add(token);
    }
    expect(tokens.size).toBe(1_000);
  });

  it('verify for the session they were minted for and fail for any other session', () => {
    const token = mintCsrfToken(key, sessionId);
    expect(verifyCsrfToken(key, sessionId, token)).toBe(true);
    expect(verifyCsrfToken(key, randomUUID(), token)).toBe(false);
    expect(verifyCsrfToken(key, sessionId.toUpperCase(), token)).toBe(false);
    expect(verifyCsrfToken(key, `${sessionId} `, token)).toBe(false);
    expect(verifyCsrfToken(key, '', token)).toBe(false);
  });

  it('from two sessions are not interchangeable', () => {
    const otherSession = randomUUID();
    const mine = mintCsrfToken(key, sessionId);
    const theirs = mintCsrfToken(key, otherSession);
    expect(verifyCsrfToken(key, otherSession, mine)).toBe(false);
    expect(verifyCsrfToken(key, sessionId, theirs)).toBe(false);
    // Splicing my nonce onto their tag (or the reverse) does not help either.
    const [myNonce, myTag] = mine.split('.');
    const [theirNonce, theirTag] = theirs.split('.');
    expect(verifyCsrfToken(key, sessionId, `${myNonce}.${theirTag}`)).toBe(false);
    expect(verifyCsrfToken(key, sessionId, `${theirNonce}.${myTag}`)).toBe(false);
  });

  it('fail when any character of the nonce is changed', () => {
    const token = mintCsrfToken(key, sessionId);
    for (let i = 0; i < 22; i++) {
      const tampered = tamper(token, i);
      expect(tampered).not.toBe(token);
      expect(verifyCsrfToken(key, sessionId, tampered)).toBe(false);
    }
  });

  it('fail when any character of the tag is changed (to one that changes the tag bytes)', () => {
    const token = mintCsrfToken(key, sessionId);
    for (let i = 23; i < token.length; i++) {
      const tampered = tamper(token, i);
      expect(tampered).not.toBe(token);
      expect(verifyCsrfToken(key, sessionId, tampered)).toBe(false);
    }
  });

  it('fail with a zeroed or truncated-and-padded tag', () => {
    const [nonce, tag] = mintCsrfToken(key, sessionId).split('.');
    expect(verifyCsrfToken(key, sessionId, `${nonce}.${'A'.repeat(43)}`)).toBe(false);
    expect(verifyCsrfToken(key, sessionId, `${nonce}.${tag.slice(0, 42)}`)).toBe(false);
    expect(verifyCsrfToken(key, sessionId, `${nonce}.${tag}A`)).toBe(false);
  });

  it('fail under a different key', () => {
    const token = mintCsrfToken(key, sessionId);
    expect(verifyCsrfToken(randomBytes(32), sessionId, token)).toBe(false);
    const nearlyTheKey = Buffer.from(key);
    nearlyTheKey[0] ^= 0x01;
    expect(verifyCsrfToken(nearlyTheKey, sessionId, token)).toBe(false);
    expect(verifyCsrfToken(Buffer.from(key), sessionId, token)).toBe(true);
  });

  it.each<[string, (good: string) => string]>([
    ['an empty string', () => ''],
    ['a dot', () => '.'],
    ['junk', () => 'not-a-csrf-token'],
    ['the nonce alone', (good) => good.split('.')[0]],
    ['the tag alone', (good) => good.split('.')[1]],
    ['swapped parts', (good) => good.split('.').reverse().join('.')],
    ['a third segment', (good) => `${good}.x`],
    ['a leading space', (good) => ` ${good}`],
    ['a trailing newline', (good) => `${good}\n`],
    ['base64 padding on the tag', (good) => `${good}=`],
    ['a 21-character nonce', (good) => good.slice(1)],
    ['a 23-character nonce', (good) => `A${good}`],
    ['standard base64 characters', (good) => good.replace(/-/g, '+').replace(/_/g, '/').replace(/^./, '+')],
    ['the session id itself', () => randomUUID()],
  ])('fail for %s', (_label, make) => {
    const good = mintCsrfToken(key, sessionId);
    const bad = make(good);
    expect(bad).not.toBe(good);
    expect(verifyCsrfToken(key, sessionId, bad)).toBe(false);
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a number', 12345],
    ['a boolean', true],
    ['an object', { token: 'x' }],
  ])('fail for a non-string: %s', (_label, value) => {
    expect(verifyCsrfToken(key, sessionId, value)).toBe(false);
  });

  it('fail for a valid token wrapped in an array, a Buffer or a String object', () => {
    const good = mintCsrfToken(key, sessionId);
    expect(verifyCsrfToken(key, sessionId, [good])).toBe(false);
    expect(verifyCsrfToken(key, sessionId, Buffer.from(good))).toBe(false);
    expect(verifyCsrfToken(key, sessionId, new String(good))).toBe(false);
    expect(verifyCsrfToken(key, sessionId, good)).toBe(true);
  });

  it('case 40: compare equal-length tags with crypto.timingSafeEqual, and skip it otherwise', () => {
    // The module object itself (an `import * as` namespace would be a copy the spy cannot reach).
    const cryptoModule: typeof import('node:crypto') = require('node:crypto');
    const spy = jest.spyOn(cryptoModule, 'timingSafeEqual');
    try {
      const good = mintCsrfToken(key, sessionId);
      const [nonce, tag] = good.split('.');
      const forged = `${nonce}.${tag.startsWith('A') ? 'B' : 'A'}${tag.slice(1)}`;
      expect(verifyCsrfToken(key, sessionId, forged)).toBe(false);
      expect(verifyCsrfToken(key, sessionId, good)).toBe(true);
      expect(verifyCsrfToken(key, randomUUID(), good)).toBe(false);
      expect(spy).toHaveBeenCalledTimes(3);
      // The tag's text, not its decoded bytes, must reach the comparison: four spellings decode alike.
      expect(spy.mock.calls[1].map((b) => Buffer.from(b as Uint8Array).toString())).toEqual([tag, tag]);
      expect(spy.mock.calls[0].map((b) => Buffer.from(b as Uint8Array).toString())).toEqual([forged.split('.')[1], tag]);
      spy.mockClear();
      expect(verifyCsrfToken(key, sessionId, `${nonce}.${tag.slice(0, 42)}`)).toBe(false);
      expect(verifyCsrfToken(key, sessionId, 'not-a-csrf-token')).toBe(false);
      expect(verifyCsrfToken(key, sessionId, undefined)).toBe(false);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('refuse inputs over 128 characters before running the pattern on them', () => {
    const exec = jest.spyOn(RegExp.prototype, 'exec');
    try {
      const good = mintCsrfToken(key, sessionId);
      const atLimit = good.padEnd(128, 'A');
      const overLimit = `${atLimit}A`;
      const huge = `${good}${'A'.repeat(1_000_000)}`;
      expect(verifyCsrfToken(key, sessionId, atLimit)).toBe(false);
      expect(verifyCsrfToken(key, sessionId, overLimit)).toBe(false);
      expect(verifyCsrfToken(key, sessionId, huge)).toBe(false);
      const tested = exec.mock.calls.map((args) => args[0]);
      expect(tested).toContain(atLimit);
      expect(tested).not.toContain(overLimit);
      expect(tested).not.toContain(huge);
    } finally {
      exec.mockRestore();
    }
  });
});

describe('verifyCsrfToken: one spelling per tag', () => {
  it('refuses a tag whose last character differs only in bits base64url decoding ignores', () => {
    const key = randomBytes(32);
    const sid = '3b241101-e2bb-4255-8caf-4136c566a962';
    const token = mintCsrfToken(key, sid);
    const last = token.slice(-1);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const index = alphabet.indexOf(last);
    // Characters sharing the top four of their six bits decode to the same 32 bytes.
    const siblings = [0, 1, 2, 3].map((low) => alphabet[(index & ~3) | low]).filter((c) => c !== last);
    expect(siblings).toHaveLength(3);
    for (const c of siblings) {
      const variant = token.slice(0, -1) + c;
      expect(Buffer.from(variant.split('.')[1], 'base64url')).toEqual(Buffer.from(token.split('.')[1], 'base64url'));
      expect(verifyCsrfToken(key, sid, variant)).toBe(false);
    }
    expect(verifyCsrfToken(key, sid, token)).toBe(true);
  });
});
