import { sign, type KeyObject } from 'node:crypto';
import { exportJWK } from 'jose';
import { KeyCache, KeyProofError, embeddedKey, signedBy, splitProof, storedKey } from './key-proof';
import { keyPair } from '../../../../test/support/key-pairs';

const ec = keyPair('ec', { namedCurve: 'prime256v1' });
const otherEc = keyPair('ec', { namedCurve: 'prime256v1' });
const smallRsa = keyPair('rsa', { modulusLength: 1024 });

async function proof(options: { key?: KeyObject; headerKey?: KeyObject; alg?: string; typ?: string; extra?: Record<string, unknown>; jwkExtra?: Record<string, unknown> } = {}): Promise<string> {
  const signer = options.key ?? ec.privateKey;
  const named = options.headerKey ?? ec.publicKey;
  const jwk = { ...(await exportJWK(named)), ...options.jwkExtra };
  const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${segment({ alg: options.alg ?? 'ES256', typ: options.typ ?? 'dpop+jwt', jwk, ...options.extra })}.${segment({ jti: 'challenge' })}`;
  // Signed by hand: jose will not sign with a key the verifier must refuse (RSA under 2048 bits).
  const signature = signer.asymmetricKeyType === 'ec' ? sign('sha256', Buffer.from(input), { key: signer, dsaEncoding: 'ieee-p1363' }) : sign('sha256', Buffer.from(input), signer);
  return `${input}.${signature.toString('base64url')}`;
}

async function verify(jws: string, algorithms: readonly string[] = ['ES256', 'RS256']): Promise<boolean> {
  const parts = splitProof(jws);
  return signedBy(parts, await embeddedKey(parts.headerText, 'dpop+jwt', algorithms));
}

describe('proofs signed by an embedded key', () => {
  it('verifies a proof by the key its header names, and gives the key back as a public JWK with its alg', async () => {
    const jws = await proof();
    const parts = splitProof(jws);
    const key = await embeddedKey(parts.headerText, 'dpop+jwt', ['ES256']);
    expect(signedBy(parts, key)).toBe(true);
    expect(Object.keys(key.publicJwk).sort()).toEqual(['alg', 'crv', 'kty', 'x', 'y']);
    expect(key.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // What a session stores verifies that key's next proofs, and no other key's.
    const stored = await storedKey(JSON.stringify(key.publicJwk));
    expect(stored.jkt).toBe(key.jkt);
    expect(signedBy(parts, stored)).toBe(true);
    expect(signedBy(splitProof(await proof({ key: otherEc.privateKey, headerKey: otherEc.publicKey })), stored)).toBe(false);
  });

  it('keeps only the public members of a key whose header carries others', async () => {
    const parts = splitProof(await proof({ jwkExtra: { use: 'sig', ext: true } }));
    const key = await embeddedKey(parts.headerText, 'dpop+jwt', ['ES256']);
    expect(Object.keys(key.publicJwk).sort()).toEqual(['alg', 'crv', 'kty', 'x', 'y']);
  });

  it('finds a signature by another key than the header names', async () => {
    expect(await verify(await proof({ key: otherEc.privateKey }))).toBe(false);
  });

  it.each([
    { name: 'another typ', make: () => proof({ typ: 'JWT' }) },
    { name: 'a crit header', make: () => proof({ extra: { crit: ['exp'], exp: 1 } }) },
    { name: 'an alg not offered', make: () => proof({ alg: 'ES384', key: keyPair('ec', { namedCurve: 'secp384r1' }).privateKey, headerKey: keyPair('ec', { namedCurve: 'secp384r1' }).publicKey }) },
    { name: 'a private member in the key', make: async () => proof({ jwkExtra: { d: (await exportJWK(ec.privateKey)).d } }) },
    { name: 'a key of another type than the alg', make: () => proof({ alg: 'RS256', key: smallRsa.privateKey }) },
    { name: 'an RSA key under 2048 bits', make: () => proof({ alg: 'RS256', key: smallRsa.privateKey, headerKey: smallRsa.publicKey }) },
  ])('refuses $name', async ({ make }) => {
    await expect(verify(await make())).rejects.toBeInstanceOf(KeyProofError);
  });

  it.each([
    { name: 'an empty string', jws: '' },
    { name: 'two segments', jws: 'a.b' },
    { name: 'padding characters', jws: 'a=.b.c' },
    { name: 'a header that is not JSON', jws: 'bm90IGpzb24.e30.c2ln' },
    { name: 'a header that is an array', jws: `${Buffer.from('[]').toString('base64url')}.e30.c2ln` },
    { name: 'more than 8 KiB', jws: `${'a'.repeat(8192)}.e30.c2ln` },
  ])('refuses $name before any key work', async ({ jws }) => {
    await expect(verify(jws)).rejects.toBeInstanceOf(KeyProofError);
  });

  it('refuses a stored key without its alg, or one that is not JSON', async () => {
    await expect(storedKey(JSON.stringify(await exportJWK(ec.publicKey)))).rejects.toBeInstanceOf(KeyProofError);
    await expect(storedKey('{')).rejects.toBeInstanceOf(KeyProofError);
  });
});

describe('KeyCache', () => {
  it('keeps at most its bound, lets the oldest go first, and never replaces a key it holds', () => {
    const cache = new KeyCache<string>(2);
    cache.remember('a', 'key a');
    cache.remember('b', 'key b');
    cache.remember('a', 'another key under a');
    expect(cache.get('a')).toBe('key a');
    cache.remember('c', 'key c');
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, 'key b', 'key c']);
  });
});
