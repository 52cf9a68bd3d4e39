import { sign, type KeyObject } from 'node:crypto';
import { KeyProofError } from '../tokens/key-proof';
import { verifyDbscRefresh } from './dbsc-proof';
import { keyPair } from '../../../../test/support/key-pairs';

const device = keyPair('ec', { namedCurve: 'prime256v1' });
const stranger = keyPair('ec', { namedCurve: 'prime256v1' });
const storedJwk = JSON.stringify({ ...device.publicKey.export({ format: 'jwk' }), alg: 'ES256' });

/** A refresh's `Secure-Session-Response`, as Chromium makes it: ES256 over `{ jti }`. */
function refreshProof(key: KeyObject, jti: string, header: Record<string, unknown> = { alg: 'ES256', typ: 'dbsc+jwt' }): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify({ jti })).toString('base64url')}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

describe('verifyDbscRefresh', () => {
  it('checks every proof against the stored key, the first (which reads the key) and the later ones (which find it read)', async () => {
    for (const challenge of ['first', 'second']) {
      expect(await verifyDbscRefresh(refreshProof(device.privateKey, challenge), storedJwk)).toBe(challenge);
      await expect(verifyDbscRefresh(refreshProof(stranger.privateKey, challenge), storedJwk)).rejects.toBeInstanceOf(KeyProofError);
      await expect(verifyDbscRefresh(refreshProof(device.privateKey, challenge, { alg: 'RS256', typ: 'dbsc+jwt' }), storedJwk)).rejects.toBeInstanceOf(KeyProofError);
      await expect(verifyDbscRefresh(refreshProof(device.privateKey, challenge, { alg: 'ES256', typ: 'JWT' }), storedJwk)).rejects.toBeInstanceOf(KeyProofError);
    }
  });

  it('refuses a proof by a key other than the one stored, although that key has verified proofs before', async () => {
    const other = JSON.stringify({ ...stranger.publicKey.export({ format: 'jwk' }), alg: 'ES256' });
    expect(await verifyDbscRefresh(refreshProof(stranger.privateKey, 'c'), other)).toBe('c');
    await expect(verifyDbscRefresh(refreshProof(stranger.privateKey, 'c'), storedJwk)).rejects.toBeInstanceOf(KeyProofError);
  });
});
