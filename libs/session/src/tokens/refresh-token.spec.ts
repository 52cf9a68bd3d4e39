import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import {
  formatRefreshToken,
  hashesEqual,
  hashRefreshSecret,
  MAX_REFRESH_TOKEN_LENGTH,
  newRefreshSecret,
  newSessionId,
  parseRefreshToken,
} from './refresh-token';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TOKEN = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/;

describe('refresh token format', () => {
  const id = '3f2b8c1e-9d4a-4b6f-a1c2-0e5d7f9a8b3c';
  const secret = 'q1W2e3R4t5Y6u7I8o9P0a_S-dFgHjKlZxCvBnMqWeRt';

  it('is exactly `<session id>.<secret>`', () => {
    expect(secret).toHaveLength(43);
    expect(formatRefreshToken(id, secret)).toBe(`${id}.${secret}`);
  });

  it('round-trips a generated token through parse', () => {
    const sessionId = newSessionId();
    const generated = newRefreshSecret();
    const token = formatRefreshToken(sessionId, generated);
    expect(token).toMatch(TOKEN);
    expect(token).toHaveLength(36 + 1 + 43);
    expect(parseRefreshToken(token)).toEqual({ sessionId, secret: generated });
  });

  it('parses a hand-written token into its two parts', () => {
    expect(parseRefreshToken(`${id}.${secret}`)).toEqual({ sessionId: id, secret });
  });

  it('accepts each of the four RFC 4122 variant digits and every base64url character', () => {
    for (const variant of ['8', '9', 'a', 'b']) {
      const sessionId = `3f2b8c1e-9d4a-4b6f-${variant}1c2-0e5d7f9a8b3c`;
      expect(parseRefreshToken(`${sessionId}.${secret}`)).toEqual({ sessionId, secret });
    }
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < alphabet.length; i += 43) {
      const chunk = alphabet.slice(i, i + 43).padEnd(43, 'A');
      expect(parseRefreshToken(`${id}.${chunk}`)).toEqual({ sessionId: id, secret: chunk });
    }
  });

  it.each<[string, string]>([
    ['an empty string', ''],
    ['the id alone', id],
    ['the secret alone', secret],
    ['the id and a dot', `${id}.`],
    ['a dot and the secret', `.${secret}`],
    ['no separator', `${id}${secret}`],
    ['another separator', `${id}:${secret}`],
    ['a third segment', `${id}.${secret}.x`],
    ['two dots', `${id}..${secret}`],
    ['swapped parts', `${secret}.${id}`],
    ['an upper-case id', `${id.toUpperCase()}.${secret}`],
    ['an id without dashes', `${id.replace(/-/g, '')}.${secret}`],
    ['a version-1 uuid', `3f2b8c1e-9d4a-1b6f-a1c2-0e5d7f9a8b3c.${secret}`],
    ['a uuid with a bad variant', `3f2b8c1e-9d4a-4b6f-c1c2-0e5d7f9a8b3c.${secret}`],
    ['the nil uuid', `00000000-0000-0000-0000-000000000000.${secret}`],
    ['an id that is not hex', `3f2b8c1e-9d4a-4b6f-a1c2-0e5d7f9a8b3g.${secret}`],
    ['a 42-character secret', `${id}.${secret.slice(1)}`],
    ['a 44-character secret', `${id}.${secret}A`],
    ['base64 padding', `${id}.${secret.slice(1)}=`],
    ['standard base64 "+"', `${id}.${secret.slice(1)}+`],
    ['standard base64 "/"', `${id}.${secret.slice(1)}/`],
    ['a leading space', ` ${id}.${secret}`],
    ['a trailing space', `${id}.${secret} `],
    ['a trailing newline', `${id}.${secret}\n`],
    ['a newline inside', `${id}.\n${secret}`],
    ['a NUL byte', `${id}.${secret.slice(1)}\u0000`],
    ['a non-ASCII character', `${id}.${secret.slice(1)}é`],
    ['a Bearer prefix', `Bearer ${id}.${secret}`],
  ])('rejects %s', (_label, token) => {
    expect(parseRefreshToken(token)).toBeNull();
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['a boolean', true],
    ['an object with the parts', { sessionId: id, secret }],
    ['an array holding the token', [`${id}.${secret}`]],
    ['a Buffer of the token', Buffer.from(`${id}.${secret}`)],
    ['a String object of the token', new String(`${id}.${secret}`)],
  ])('rejects a non-string: %s', (_label, token) => {
    expect(parseRefreshToken(token)).toBeNull();
  });

  it(`refuses tokens over ${MAX_REFRESH_TOKEN_LENGTH} characters without running the pattern on them`, () => {
    expect(MAX_REFRESH_TOKEN_LENGTH).toBe(1024);
    const exec = jest.spyOn(RegExp.prototype, 'exec');
    try {
      const atLimit = `${id}.${secret}`.padEnd(MAX_REFRESH_TOKEN_LENGTH, 'A');
      const overLimit = `${atLimit}A`;
      const huge = `${id}.${'A'.repeat(1_000_000)}`;
      expect(parseRefreshToken(atLimit)).toBeNull();
      expect(parseRefreshToken(overLimit)).toBeNull();
      expect(parseRefreshToken(huge)).toBeNull();
      const tested = exec.mock.calls.map((args) => args[0]);
      expect(tested).toContain(atLimit);
      expect(tested).not.toContain(overLimit);
      expect(tested).not.toContain(huge);
    } finally {
      exec.mockRestore();
    }
  });
});

describe('generated ids and secrets', () => {
  it('session ids are lower-case UUID v4 and distinct', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const sessionId = newSessionId();
      expect(sessionId).toMatch(UUID_V4);
      ids.add(sessionId);
    }
    expect(ids.size).toBe(10_000);
  });

  it('100,000 secrets are all distinct, 43 base64url characters, and decode to 32 bytes', () => {
    const count = 100_000;
    const seen = new Set<string>();
    const decodedSeen = new Set<string>();
    let malformed = 0;
    for (let i = 0; i < count; i++) {
      const secret = newRefreshSecret();
      const bytes = Buffer.from(secret, 'base64url');
      // Canonical encoding of exactly 32 bytes, usable inside a token.
      if (!/^[A-Za-z0-9_-]{43}$/.test(secret) || bytes.length !== 32 || bytes.toString('base64url') !== secret) malformed++;
      seen.add(secret);
      decodedSeen.add(bytes.toString('hex'));
    }
    expect(malformed).toBe(0);
    expect(seen.size).toBe(count);
    expect(decodedSeen.size).toBe(count);
  });

  it('secrets are not all-zero or otherwise degenerate (bits are spread over the whole value)', () => {
    // Across 1,000 secrets every one of the 256 bit positions should be set at least once.
    const or = Buffer.alloc(32);
    const and = Buffer.alloc(32, 0xff);
    for (let i = 0; i < 1_000; i++) {
      const bytes = Buffer.from(newRefreshSecret(), 'base64url');
      for (let b = 0; b < 32; b++) {
        or[b] |= bytes[b];
        and[b] &= bytes[b];
      }
    }
    expect(or.equals(Buffer.alloc(32, 0xff))).toBe(true);
    expect(and.equals(Buffer.alloc(32, 0))).toBe(true);
  });
});

describe('hashRefreshSecret', () => {
  const pepper = randomBytes(32);
  const secret = newRefreshSecret();

  it('is HMAC-SHA-256 of the secret string under the pepper', () => {
    const hash = hashRefreshSecret(secret, pepper);
    expect(hash).toBeInstanceOf(Buffer);
    expect(hash).toHaveLength(32);
    expect(hash.equals(createHmac('sha256', pepper).update(secret).digest())).toBe(true);
  });

  it('matches the RFC 4231 HMAC-SHA-256 known answer (test case 2)', () => {
    const hash = hashRefreshSecret('what do ya want for nothing?', Buffer.from('Jefe'));
    expect(hash.toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('is deterministic for the same secret and pepper', () => {
    expect(hashRefreshSecret(secret, pepper).equals(hashRefreshSecret(secret, Buffer.from(pepper)))).toBe(true);
  });

  it('changes with the pepper: a database dump without the pepper yields nothing comparable', () => {
    const other = randomBytes(32);
    expect(hashRefreshSecret(secret, pepper).equals(hashRefreshSecret(secret, other))).toBe(false);
    // A plain SHA-256 of the secret (no pepper) is not what is stored either.
    const unpeppered = createHash('sha256').update(secret).digest();
    expect(hashRefreshSecret(secret, pepper).equals(unpeppered)).toBe(false);
  });

  it('changes with the secret, including a one-character difference', () => {
    const other = (secret[0] === 'A' ? 'B' : 'A') + secret.slice(1);
    expect(hashRefreshSecret(secret, pepper).equals(hashRefreshSecret(other, pepper))).toBe(false);
  });

  it('does not contain the secret', () => {
    const hash = hashRefreshSecret(secret, pepper);
    expect(hash.equals(Buffer.from(secret, 'base64url'))).toBe(false);
    expect(hash.toString('base64url')).not.toBe(secret);
  });
});

describe('hashesEqual', () => {
  const pepper = randomBytes(32);
  const hash = hashRefreshSecret(newRefreshSecret(), pepper);

  afterEach(() => jest.restoreAllMocks());

  it('is true for equal contents in distinct buffers', () => {
    expect(hashesEqual(Buffer.from(hash), Buffer.from(hash))).toBe(true);
  });

  it('is false when a single bit differs', () => {
    for (const index of [0, 15, 31]) {
      const flipped = Buffer.from(hash);
      flipped[index] ^= 0x01;
      expect(hashesEqual(hash, flipped)).toBe(false);
      expect(hashesEqual(flipped, hash)).toBe(false);
    }
  });

  it('is false for the hash of another secret', () => {
    expect(hashesEqual(hash, hashRefreshSecret(newRefreshSecret(), pepper))).toBe(false);
  });

  it('never matches a missing stored hash', () => {
    expect(hashesEqual(null, hash)).toBe(false);
    expect(hashesEqual(undefined, hash)).toBe(false);
  });

  it('is false, without throwing, when the lengths differ', () => {
    expect(() => hashesEqual(hash.subarray(0, 31), hash)).not.toThrow();
    expect(hashesEqual(hash.subarray(0, 31), hash)).toBe(false);
    expect(hashesEqual(hash, hash.subarray(0, 31))).toBe(false);
    expect(hashesEqual(Buffer.concat([hash, Buffer.alloc(1)]), hash)).toBe(false);
    expect(hashesEqual(Buffer.alloc(0), hash)).toBe(false);
  });

  it('compares equal-length hashes with crypto.timingSafeEqual, and skips it otherwise', () => {
    // The module object itself (an `import * as` namespace would be a copy the spy cannot reach).
    const cryptoModule: typeof import('node:crypto') = require('node:crypto');
    const spy = jest.spyOn(cryptoModule, 'timingSafeEqual');
    const other = Buffer.from(hash);
    other[31] ^= 0xff;
    expect(hashesEqual(hash, other)).toBe(false);
    expect(hashesEqual(hash, Buffer.from(hash))).toBe(true);
    expect(spy).toHaveBeenCalledTimes(2);
    spy.mockClear();
    expect(hashesEqual(null, hash)).toBe(false);
    expect(hashesEqual(hash.subarray(1), hash)).toBe(false);
    expect(spy).not.toHaveBeenCalled();
  });

  it('a stored hash matches only the secret that produced it (issue → present)', () => {
    const secret = newRefreshSecret();
    const stored = hashRefreshSecret(secret, pepper);
    const token = formatRefreshToken(randomUUID(), secret);
    const parsed = parseRefreshToken(token);
    expect(parsed).not.toBeNull();
    expect(hashesEqual(stored, hashRefreshSecret(parsed!.secret, pepper))).toBe(true);
    expect(hashesEqual(stored, hashRefreshSecret(parsed!.secret, randomBytes(32)))).toBe(false);
  });
});
