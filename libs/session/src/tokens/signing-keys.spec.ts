import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { resolveSessionOptions } from '../resolve-options';
import type { SessionModuleOptions } from '../session.options';
import { SessionConfigError } from '../errors/session-config-error';
import { SessionJwtStrategy } from '../guards/jwt.strategy';
import type { ResolvedSessionOptions } from '../resolve-options';
import { AccessTokenService } from './access-token';
import { readHeader } from './access-claims';
import { keyForHeader, publicJwks, resolveKeySet, type SigningKey } from './signing-keys';
import { keyPair } from '../../../../test/support/key-pairs';

const secret = () => randomBytes(32).toString('base64url');
const sessionSecret = secret();
const ec = keyPair('ec', { namedCurve: 'prime256v1' });
const rsa = keyPair('rsa', { modulusLength: 2048 });
const ed = keyPair('ed25519');

const resolve = (overrides: Partial<SessionModuleOptions>) =>
  resolveSessionOptions({ sessionSecret, loadUser: () => null, ...overrides }, {}, { NODE_ENV: 'test' });

function configError(run: () => unknown): SessionConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof SessionConfigError) return error;
    throw error;
  }
  throw new Error('expected a SessionConfigError');
}

const tokensFor = (options: ResolvedSessionOptions) => new AccessTokenService(options, new SessionJwtStrategy(options));

/** The same bytes as `segment`, spelled with other unused low bits in the last character. */
function otherSpelling(segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  return segment.slice(0, -1) + alphabet[alphabet.indexOf(segment[segment.length - 1]) ^ 1];
}

const b64 = (value: object | string) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** docs/security.md cases 2, 13 and 17: keys by kid, one algorithm per key, unsafe keys refused at start. */
describe('signing keys', () => {
  const claims = { id: 'u1', roles: ['reader'] };
  const sid = '0b1e5f9e-6a1b-4c55-9d1e-2f1f1f1f1f1f';
  const now = Date.now();

  it('signs with the current key, in its algorithm, with its kid; each key verifies only its own tokens', async () => {
    const keys: SigningKey[] = [
      { kid: 'es-1', alg: 'ES256', key: ec.privateKey },
      { kid: 'hs-1', alg: 'HS256', key: secret() },
      { kid: 'rs-1', alg: 'RS256', key: rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string },
      { kid: 'ed-1', alg: 'EdDSA', key: ed.privateKey.export({ format: 'jwk' }) },
    ];
    for (const current of ['es-1', 'hs-1', 'rs-1', 'ed-1']) {
      const service = tokensFor(resolve({ signingKeys: keys, currentSigningKey: current, hs256Migration: true }));
      const { token } = await service.sign(claims, sid, now, now + 86_400_000);
      const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
      expect(header).toEqual({ alg: keys.find((k) => k.kid === current)!.alg, typ: 'at+jwt', kid: current });
      expect((await service.verify(token, now)).sid).toBe(sid);
    }
  });

  it('jwtSecret alone signs tokens with no kid, as before key sets', async () => {
    const service = tokensFor(resolve({ jwtSecret: secret() }));
    const { token } = await service.sign(claims, sid, now, now + 86_400_000);
    expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'at+jwt' });
  });

  it('case 13: a token with no kid verifies only while jwtSecret (the legacy key) is configured', async () => {
    const jwtSecret = secret();
    const legacy = tokensFor(resolve({ jwtSecret }));
    const { token } = await legacy.sign(claims, sid, now, now + 86_400_000);
    const keys: SigningKey[] = [{ kid: 'es-1', alg: 'ES256', key: ec.privateKey }];
    expect((await tokensFor(resolve({ jwtSecret, signingKeys: keys, hs256Migration: true })).verify(token, now)).sid).toBe(sid);
    await expect(tokensFor(resolve({ signingKeys: keys })).verify(token, now)).rejects.toThrow('Authentication required');
  });

  it.each<[string, unknown]>([
    ['unknown', 'es-2'],
    ['path traversal', '../../etc/passwd'],
    ['SQL', "' OR 1=1 --"],
    ['NUL', 'es-1\u0000'],
    ['10 KB', 'k'.repeat(10_240)],
    ['an object', { kid: 'es-1' }],
    ['an array', ['es-1']],
    ['a number', 1],
    ['null', null],
    ['the kid in another case', 'ES-1'],
  ])('case 13: a kid that is %s selects no key: refused, whatever the signature', async (_label, kid) => {
    const service = tokensFor(resolve({ signingKeys: [{ kid: 'es-1', alg: 'ES256', key: ec.privateKey }] }));
    const { token } = await service.sign(claims, sid, now, now + 86_400_000);
    const [, payload, signature] = token.split('.');
    const forged = `${b64({ alg: 'ES256', typ: 'at+jwt', kid })}.${payload}.${signature}`;
    expect(keyForHeader(resolve({ signingKeys: [{ kid: 'es-1', alg: 'ES256', key: ec.privateKey }] }).keys, readHeader(forged)!)).toBeNull();
    await expect(service.verify(forged, now)).rejects.toThrow('Authentication required');
  });

  it.each([
    ['the PEM of the public key', () => ec.publicKey.export({ format: 'pem', type: 'spki' }) as string],
    ['the DER of the public key', () => ec.publicKey.export({ format: 'der', type: 'spki' })],
    ['the JWK of the public key', () => JSON.stringify(ec.publicKey.export({ format: 'jwk' }))],
  ])('case 2: in an ES256 deployment, a token HMAC-signed with %s is refused', async (_label, material) => {
    const service = tokensFor(resolve({ signingKeys: [{ kid: 'es-1', alg: 'ES256', key: ec.privateKey }] }));
    const genuine = (await service.sign(claims, sid, now, now + 86_400_000)).token;
    const payload = genuine.split('.')[1];
    for (const kid of ['es-1', undefined]) {
      const header = b64({ alg: 'HS256', typ: 'at+jwt', ...(kid ? { kid } : {}) });
      const signature = createHmac('sha256', material()).update(`${header}.${payload}`).digest('base64url');
      await expect(service.verify(`${header}.${payload}.${signature}`, now)).rejects.toThrow('Authentication required');
    }
  });

  it('case 2: an HS256 key and an ES256 key never verify each other\'s algorithm, even under the other kid', async () => {
    const hs = secret();
    const service = tokensFor(
      resolve({ signingKeys: [{ kid: 'es-1', alg: 'ES256', key: ec.privateKey }, { kid: 'hs-1', alg: 'HS256', key: hs }], hs256Migration: true }),
    );
    const genuine = (await service.sign(claims, sid, now, now + 86_400_000)).token;
    const payload = genuine.split('.')[1];
    const header = b64({ alg: 'HS256', typ: 'at+jwt', kid: 'es-1' });
    const signature = createHmac('sha256', hs).update(`${header}.${payload}`).digest('base64url');
    await expect(service.verify(`${header}.${payload}.${signature}`, now)).rejects.toThrow('Authentication required');
  });

  it.each<[string, Partial<SessionModuleOptions>]>([
    ['jwtSecret beside an ES256 key', { jwtSecret: secret(), signingKeys: [{ kid: 'es-1', alg: 'ES256', key: ec.privateKey }] }],
    ['an HS256 key beside an EdDSA key', { signingKeys: [{ kid: 'ed-1', alg: 'EdDSA', key: ed.privateKey }, { kid: 'hs-1', alg: 'HS256', key: secret() }] }],
    ['an HS256 key beside a public RS256 key', { signingKeys: [{ kid: 'hs-1', alg: 'HS256', key: secret() }, { kid: 'rs-1', alg: 'RS256', key: rsa.publicKey }] }],
  ])('case 17: HMAC mixed with an asymmetric algorithm stops the start unless hs256Migration (%s)', (_label, options) => {
    const e = configError(() => resolve(options));
    expect(e.message).toContain('mixes HS256');
    expect(e.message).toContain('hs256Migration: true');
    const migrating = resolve({ ...options, hs256Migration: true });
    expect(migrating.keys.mixed).toBe(true);
  });

  it('a key set of one family is not mixed, with or without hs256Migration', () => {
    const asymmetric = { signingKeys: [{ kid: 'es-1', alg: 'ES256', key: ec.privateKey }, { kid: 'ed-1', alg: 'EdDSA', key: ed.privateKey }] } as const;
    expect(resolve({ signingKeys: [...asymmetric.signingKeys] }).keys.mixed).toBe(false);
    expect(resolve({ jwtSecret: secret(), signingKeys: [{ kid: 'hs-1', alg: 'HS256', key: secret() }] }).keys.mixed).toBe(false);
    expect(resolve({ jwtSecret: secret(), hs256Migration: true }).keys.mixed).toBe(false);
  });

  it('EdDSA (Ed25519): a changed payload, a changed or non-canonical signature, and an HS256 token naming its kid are all refused', async () => {
    const service = tokensFor(resolve({ signingKeys: [{ kid: 'ed-1', alg: 'EdDSA', key: ed.privateKey }] }));
    const { token } = await service.sign(claims, sid, now, now + 86_400_000);
    expect((await service.verify(token, now)).sid).toBe(sid);
    const [h, p, s] = token.split('.');
    const otherPayload = b64({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'someone-else' });
    const flipped = Buffer.from(s, 'base64url');
    flipped[10] ^= 1;
    const forgeries = [
      `${h}.${otherPayload}.${s}`,
      `${h}.${p}.${flipped.toString('base64url')}`,
      `${h}.${p}.${s}A`,
      `${h}.${p}.${s.slice(0, -1)}`,
      `${h}.${p}.${Buffer.from(s, 'base64url').toString('base64')}`,
      `${h}.${p}.${otherSpelling(s)}`,
      `${b64({ alg: 'HS256', typ: 'at+jwt', kid: 'ed-1' })}.${p}.${createHmac('sha256', ed.publicKey.export({ format: 'der', type: 'spki' })).update(`${b64({ alg: 'HS256', typ: 'at+jwt', kid: 'ed-1' })}.${p}`).digest('base64url')}`,
    ];
    for (const forged of forgeries) await expect(service.verify(forged, now)).rejects.toThrow('Authentication required');
    // Signed by another Ed25519 key under the same kid.
    const stranger = tokensFor(resolve({ signingKeys: [{ kid: 'ed-1', alg: 'EdDSA', key: keyPair('ed25519').privateKey }] }));
    await expect(service.verify((await stranger.sign(claims, sid, now, now + 86_400_000)).token, now)).rejects.toThrow('Authentication required');
    // Another issuer or audience, validly signed.
    const elsewhere = tokensFor(resolve({ issuer: 'other', signingKeys: [{ kid: 'ed-1', alg: 'EdDSA', key: ed.privateKey }] }));
    await expect(service.verify((await elsewhere.sign(claims, sid, now, now + 86_400_000)).token, now)).rejects.toThrow('Authentication required');
  });

  it.each<[string, SigningKey]>([
    ['HS256', { kid: 'hs-1', alg: 'HS256', key: secret() }],
    ['ES256', { kid: 'es-1', alg: 'ES256', key: ec.privateKey }],
    ['RS256', { kid: 'rs-1', alg: 'RS256', key: rsa.privateKey }],
    ['EdDSA', { kid: 'ed-1', alg: 'EdDSA', key: ed.privateKey }],
  ])('%s: a signature spelled another way with the same bytes is refused (one spelling per token)', async (_alg, key) => {
    const service = tokensFor(resolve({ signingKeys: [key] }));
    const { token } = await service.sign(claims, sid, now, now + 86_400_000);
    const [h, p, s] = token.split('.');
    const respelled = otherSpelling(s);
    expect(Buffer.from(respelled, 'base64url').equals(Buffer.from(s, 'base64url'))).toBe(true);
    expect((await service.verify(token, now)).sid).toBe(sid);
    await expect(service.verify(`${h}.${p}.${respelled}`, now)).rejects.toThrow('Authentication required');
  });

  describe('case 17: unsafe keys stop the start, saying what to fix', () => {
    it.each<[string, SigningKey[], RegExp]>([
      ['a short HMAC secret', [{ kid: 'a', alg: 'HS256', key: 'too-short' }], /signingKeys "a" is 9 bytes; use at least 32 random bytes/],
      ['a placeholder HMAC secret', [{ kid: 'a', alg: 'HS256', key: 'a-string-secret-at-least-256-bits-long' }], /looks like a placeholder/],
      ['an EC key on P-384 for ES256', [{ kid: 'a', alg: 'ES256', key: keyPair('ec', { namedCurve: 'secp384r1' }).privateKey }], /P-256 curve \(prime256v1\); got an EC key on secp384r1/],
      ['an EC key on secp256k1 for ES256', [{ kid: 'a', alg: 'ES256', key: keyPair('ec', { namedCurve: 'secp256k1' }).privateKey }], /got an EC key on secp256k1/],
      ['an RSA key of 1024 bits', [{ kid: 'a', alg: 'RS256', key: keyPair('rsa', { modulusLength: 1024 }).privateKey }], /at least 2048 bits; got an RSA key of 1024 bits/],
      ['an RSA key for ES256', [{ kid: 'a', alg: 'ES256', key: rsa.privateKey }], /got an RSA key of 2048 bits/],
      ['an asymmetric key for HS256', [{ kid: 'a', alg: 'HS256', key: ec.privateKey }], /HS256 takes a secret, not a private key/],
      ['a secret for ES256', [{ kid: 'a', alg: 'ES256', key: createSecretKey(randomBytes(32)) }], /an asymmetric algorithm takes a private or public key, not a secret/],
      ['alg none', [{ kid: 'a', alg: 'none' as never, key: secret() }], /alg must be "HS256", "ES256", "RS256" or "EdDSA"; got "none"/],
      ['an Ed448 key for EdDSA', [{ kid: 'a', alg: 'EdDSA', key: keyPair('ed448').privateKey }], /EdDSA needs an Ed25519 key; got a ed448 key/],
      ['an EC key for EdDSA', [{ kid: 'a', alg: 'EdDSA', key: ec.privateKey }], /EdDSA needs an Ed25519 key; got an EC key/],
      ['HS384', [{ kid: 'a', alg: 'HS384' as never, key: secret() }], /got "HS384"/],
      ['a bad kid', [{ kid: '../a', alg: 'HS256', key: secret() }], /kid must be 1 to 64 letters/],
      ['a kid twice', [{ kid: 'a', alg: 'HS256', key: secret() }, { kid: 'a', alg: 'ES256', key: ec.privateKey }], /kid "a" is used twice/],
      ['a public key as the current key', [{ kid: 'a', alg: 'ES256', key: ec.publicKey }], /the current key "a" is a public key; it needs its private key to sign/],
      ['unreadable PEM', [{ kid: 'a', alg: 'ES256', key: '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----' }], /could not be read as a PEM or JWK private key/],
    ])('%s', (_label, signingKeys, message) => {
      expect(configError(() => resolve({ signingKeys })).message).toMatch(message);
    });

    it('a currentSigningKey that names no key', () => {
      expect(configError(() => resolve({ signingKeys: [{ kid: 'a', alg: 'ES256', key: ec.privateKey }], currentSigningKey: 'b' })).message).toMatch(
        /currentSigningKey "b" is not the kid of any key/,
      );
    });

    it('an unreadable key never quotes its material in the message', () => {
      const material = `-----BEGIN PRIVATE KEY-----\n${randomBytes(48).toString('base64')}\n-----END PRIVATE KEY-----`;
      const message = configError(() => resolve({ signingKeys: [{ kid: 'a', alg: 'ES256', key: material }] })).message;
      expect(message).not.toContain(material.split('\n')[1].slice(0, 16));
    });
  });

  it('the JWK Set lists the ES256, RS256 and EdDSA public keys with kid, alg and use; never a secret or a private part', () => {
    const hs = secret();
    const options = resolve({
      signingKeys: [
        { kid: 'es-1', alg: 'ES256', key: ec.privateKey },
        { kid: 'hs-1', alg: 'HS256', key: hs },
        { kid: 'rs-1', alg: 'RS256', key: rsa.privateKey.export({ format: 'jwk' }) },
        { kid: 'es-0', alg: 'ES256', key: keyPair('ec', { namedCurve: 'prime256v1' }).publicKey },
        { kid: 'ed-1', alg: 'EdDSA', key: ed.privateKey },
      ],
      hs256Migration: true,
    });
    const jwks = publicJwks(options.keys);
    expect(jwks.keys.map((k) => [k.kid, k.alg, k.kty, k.use])).toEqual([
      ['es-1', 'ES256', 'EC', 'sig'],
      ['rs-1', 'RS256', 'RSA', 'sig'],
      ['es-0', 'ES256', 'EC', 'sig'],
      ['ed-1', 'EdDSA', 'OKP', 'sig'],
    ]);
    expect(jwks.keys[3]).toEqual({ kty: 'OKP', crv: 'Ed25519', x: ed.publicKey.export({ format: 'jwk' }).x, kid: 'ed-1', alg: 'EdDSA', use: 'sig' });
    const text = JSON.stringify(jwks);
    for (const field of ['"d"', '"p"', '"q"', '"dp"', '"dq"', '"qi"', '"k"']) expect(text).not.toContain(field);
    expect(text).not.toContain(Buffer.from(hs).toString('base64url'));
    expect(jwks.keys[0]).toEqual({ ...ec.publicKey.export({ format: 'jwk' }), kid: 'es-1', alg: 'ES256', use: 'sig' });
  });
});

describe('resolveKeySet, keyForHeader and publicJwks, each rule on its own', () => {
  const ecPem = ec.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const ecPublicPem = ec.publicKey.export({ format: 'pem', type: 'spki' }) as string;

  it('no key at all, or a current key named without a key set, stops the start', () => {
    expect(() => resolveKeySet(undefined, [], undefined)).toThrow('jwtSecret or signingKeys is required: the keys that sign access tokens.');
    expect(() => resolveKeySet(undefined, undefined, undefined)).toThrow('jwtSecret or signingKeys is required');
    expect(() => resolveKeySet(secret(), undefined, 'a')).toThrow('currentSigningKey names a key of signingKeys, and there are none.');
    expect(resolveKeySet(secret(), [], undefined).algorithms).toEqual(['HS256']);
  });

  it('a key set that is not a list, or an entry that is not an object, is named by its place', () => {
    expect(() => resolveKeySet(undefined, { length: 1 } as unknown as SigningKey[], undefined)).toThrow('signingKeys must be an array of { kid, alg, key }.');
    expect(() => resolveKeySet(undefined, [null as unknown as SigningKey], undefined)).toThrow('signingKeys[0] must be { kid, alg, key }.');
    expect(() => resolveKeySet(undefined, [{ kid: 'a', alg: 'ES256', key: ec.privateKey }, 'x' as unknown as SigningKey], undefined)).toThrow('signingKeys[1] must be { kid, alg, key }.');
    expect(() => resolveKeySet(undefined, [{ kid: 7 as unknown as string, alg: 'ES256', key: ec.privateKey }], undefined)).toThrow('signingKeys[0].kid must be 1 to 64 letters');
  });

  it('the mixed-family refusal names every HMAC key, jwtSecret included', () => {
    const keys: SigningKey[] = [{ kid: 'es-1', alg: 'ES256', key: ec.privateKey }, { kid: 'hs-1', alg: 'HS256', key: secret() }];
    expect(() => resolveKeySet(secret(), keys, undefined)).toThrow(
      'signingKeys mixes HS256 ("hs-1", jwtSecret) with asymmetric keys: whoever holds the HMAC secret could still mint ' +
        'the tokens the asymmetric keys are meant to reserve to this app. Drop the HS256 keys (and jwtSecret) one ' +
        'access-token lifetime after the asymmetric key signs, or set hs256Migration: true only for that migration.',
    );
    expect(resolveKeySet(secret(), keys, undefined, true).mixed).toBe(true);
  });

  it('a weak jwtSecret is refused under its own name', () => {
    expect(() => resolveKeySet('short', undefined, undefined)).toThrow(/^nest-sessions: jwtSecret is 5 bytes/);
    expect(() => resolveKeySet(42, undefined, undefined)).toThrow('jwtSecret is required');
  });

  it.each<[string, unknown, 'private' | 'public']>([
    ['a PEM private key', ecPem, 'private'],
    ['a PEM private key in a Buffer', Buffer.from(ecPem), 'private'],
    ['a PEM public key', ecPublicPem, 'public'],
    ['a JWK private key', ec.privateKey.export({ format: 'jwk' }), 'private'],
    ['a JWK public key', ec.publicKey.export({ format: 'jwk' }), 'public'],
    ['a private KeyObject', ec.privateKey, 'private'],
    ['a public KeyObject', ec.publicKey, 'public'],
  ])('an ES256 key given as %s', (_name, key, kind) => {
    const set = resolveKeySet(undefined, [{ kid: 'b', alg: 'ES256', key: ec.privateKey }, { kid: 'a', alg: 'ES256', key: key as SigningKey['key'] }], 'b');
    const resolved = set.byKid.get('a')!;
    expect(resolved.verifyKey.type).toBe('public');
    expect(resolved.verifyKey.export({ format: 'jwk' })).toEqual(ec.publicKey.export({ format: 'jwk' }));
    expect(resolved.signKey?.type ?? 'none').toBe(kind === 'private' ? 'private' : 'none');
  });

  it.each<[string, unknown, string]>([
    ['a number', 42, 'signingKeys "a": the key must be a PEM string, a JWK object or a KeyObject.'],
    ['an object that is no JWK', { n: 'x' }, 'signingKeys "a": the key must be a PEM string, a JWK object or a KeyObject.'],
    ['an unreadable public PEM', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', 'signingKeys "a": the key could not be read as a PEM or JWK public key.'],
    ['an unreadable private JWK', { kty: 'EC', d: 'x' }, 'signingKeys "a": the key could not be read as a PEM or JWK private key.'],
  ])('an ES256 key given as %s is refused', (_name, key, message) => {
    expect(() => resolveKeySet(undefined, [{ kid: 'b', alg: 'ES256', key: ec.privateKey }, { kid: 'a', alg: 'ES256', key: key as SigningKey['key'] }], 'b')).toThrow(message);
  });

  it('HS256 takes a secret KeyObject or bytes, not a JWK', () => {
    const bytes = randomBytes(32);
    expect(resolveKeySet(undefined, [{ kid: 'a', alg: 'HS256', key: createSecretKey(bytes) }], undefined).current.verifyKey.export()).toEqual(bytes);
    expect(() => resolveKeySet(undefined, [{ kid: 'a', alg: 'HS256', key: { kty: 'oct', k: bytes.toString('base64url') } as unknown as string }], undefined)).toThrow(
      'signingKeys "a" is required',
    );
    expect(() => resolveKeySet(undefined, [{ kid: 'a', alg: 'HS256', key: ec.publicKey }], undefined)).toThrow('signingKeys "a": HS256 takes a secret, not a public key');
  });

  it('a weak RSA key names its size; an ES256 key on another curve names it', () => {
    const small = keyPair('rsa', { modulusLength: 1024 });
    expect(() => resolveKeySet(undefined, [{ kid: 'a', alg: 'RS256', key: small.privateKey }], undefined)).toThrow('got an RSA key of 1024 bits.');
    expect(() => resolveKeySet(undefined, [{ kid: 'a', alg: 'RS256', key: ec.privateKey }], undefined)).toThrow('got an EC key on prime256v1.');
    expect(() => resolveKeySet(undefined, [{ kid: 'a', alg: 'ES256', key: ed.privateKey }], undefined)).toThrow('got a ed25519 key.');
  });

  describe('keyForHeader', () => {
    const set = resolveKeySet(secret(), [{ kid: 'hs-1', alg: 'HS256', key: secret() }], undefined);
    it.each<[string, Record<string, unknown>, string | null]>([
      ['no kid: the legacy jwtSecret', { alg: 'HS256' }, null],
      ['its kid and algorithm', { alg: 'HS256', kid: 'hs-1' }, 'hs-1'],
      ['its kid in another algorithm', { alg: 'ES256', kid: 'hs-1' }, 'none'],
      ['no kid in another algorithm', { alg: 'ES256' }, 'none'],
      ['an unknown kid', { alg: 'HS256', kid: 'hs-2' }, 'none'],
      ['a kid that is not a string', { alg: 'HS256', kid: 1 }, 'none'],
      ['a kid that is not a key id at all', { alg: 'HS256', kid: 'hs-1/../x' }, 'none'],
      ['a kid of 65 characters', { alg: 'HS256', kid: 'a'.repeat(65) }, 'none'],
    ])('%s', (_name, header, expected) => {
      const key = keyForHeader(set, header);
      expect(key === null ? 'none' : key.kid).toBe(expected);
    });

    it('no legacy key: a token with no kid finds none', () => {
      const only = resolveKeySet(undefined, [{ kid: 'hs-1', alg: 'HS256', key: secret() }], undefined);
      expect(keyForHeader(only, { alg: 'HS256' })).toBeNull();
    });
  });

  it('an RSA public JWK lists kty, n, e and no empty fields', () => {
    const set = resolveKeySet(undefined, [{ kid: 'rs-1', alg: 'RS256', key: rsa.privateKey }], undefined);
    expect(Object.keys(publicJwks(set).keys[0])).toEqual(['kty', 'n', 'e', 'kid', 'alg', 'use']);
  });
});
