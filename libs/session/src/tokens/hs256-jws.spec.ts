import { createSecretKey, randomBytes } from 'node:crypto';
import * as jwt from 'jsonwebtoken';
import { Hs256Signer } from './hs256-jws';
import { randomBase64url } from './random-pool';

describe('Hs256Signer', () => {
  const secret = randomBytes(32);
  const header = { alg: 'HS256', typ: 'at+jwt', kid: 'k1' };
  const payload = { iss: 'i', aud: 'a', sub: 'u', sid: 's', jti: 'j', iat: 1_800_000_000, exp: 1_800_000_600, roles: ['r'], auth_time: 1_800_000_000 };

  it('makes the bytes jsonwebtoken makes for the same header and payload', () => {
    const ours = new Hs256Signer(header, createSecretKey(secret)).sign(payload);
    const theirs = jwt.sign(payload, secret, { algorithm: 'HS256', header: header as jwt.JwtHeader });
    expect(ours).toBe(theirs);
  });

  it('verifies with jsonwebtoken under the key, and not under another', () => {
    const token = new Hs256Signer(header, createSecretKey(secret)).sign(payload);
    expect(jwt.verify(token, secret, { algorithms: ['HS256'], ignoreExpiration: true, complete: true }).header).toEqual(header);
    expect(() => jwt.verify(token, randomBytes(32), { algorithms: ['HS256'], ignoreExpiration: true })).toThrow('invalid signature');
  });
});

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
