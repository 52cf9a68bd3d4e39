import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

type KeyType = 'ec' | 'rsa' | 'ed25519' | 'ed448';

/**
 * `generateKeyPairSync(type, options)`, as KeyObjects imported from PEM. On Node 20 a key straight
 * from generateKeyPairSync can hang the process for good when it is exported as a JWK (the tests
 * do, and so does the library's JWKS) while the garbage collector frees the job that generated it:
 * the job's destructor waits for the lock the export holds. Keys imported from PEM share nothing
 * with that job. Node 22 and 24 do not have the bug; the tests run on Node 20 too.
 */
export function keyPair(type: KeyType, options: { namedCurve?: string; modulusLength?: number } = {}): { privateKey: KeyObject; publicKey: KeyObject } {
  const generate = generateKeyPairSync as unknown as (type: KeyType, options: object) => { privateKey: string; publicKey: string };
  const pem = generate(type, { ...options, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return { privateKey: createPrivateKey(pem.privateKey), publicKey: createPublicKey(pem.publicKey) };
}
