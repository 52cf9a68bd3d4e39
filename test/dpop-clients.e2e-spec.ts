import request from 'supertest';
import type { AddressInfo } from 'node:net';
import * as DPoP from 'dpop';
import * as oauth from 'oauth4webapi';
import { ADAPTERS, startBareApp } from './support/bare-app';

/**
 * DPoP with server nonces (`dpopNonce`, RFC 9449 §8) and `dpop: 'required'`, driven by two
 * clients no one here wrote: panva's `dpop` for the login and `oauth4webapi` for resource
 * requests, whose nonce handling and `WWW-Authenticate` parser then read our answers.
 */
describe.each(ADAPTERS)('DPoP with server nonces, through dpop and oauth4webapi (%s)', (adapter) => {
  let app: Awaited<ReturnType<typeof startBareApp>>;
  let origin: string;
  beforeAll(async () => {
    app = await startBareApp({ adapter, session: { dpop: 'required', dpopNonce: true } });
    origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => app?.close());

  /** Logs in with a proof of `keyPair`, fetching the server nonce first as RFC 9449 §8 describes. */
  async function login(keyPair: oauth.CryptoKeyPair) {
    const key = keyPair as DPoP.KeyPair;
    const first = await request(app.server).post('/login').set('X-Session-Transport', 'bearer').set('DPoP', await DPoP.generateProof(key, `${origin}/login`, 'POST')).send({ id: 'u1' });
    expect(first.status).toBe(401);
    expect(first.body.code).toBe('DPOP_NONCE_REQUIRED');
    expect(first.headers['www-authenticate']).toMatch(/^DPoP error="use_dpop_nonce"/);
    const nonce = first.headers['dpop-nonce'] as string;
    expect(nonce).toBeTruthy();
    const res = await request(app.server).post('/login').set('X-Session-Transport', 'bearer').set('DPoP', await DPoP.generateProof(key, `${origin}/login`, 'POST', nonce)).send({ id: 'u1' });
    expect(res.status).toBe(200);
    expect(res.body.tokenType).toBe('DPoP');
    expect(res.headers['dpop-nonce']).toBeTruthy();
    return res.body.accessToken as string;
  }

  /** oauth4webapi's documented pattern: a nonce error is retried once with the nonce it kept. */
  async function resource(accessToken: string, handle: oauth.DPoPHandle): Promise<Response> {
    const call = () => oauth.protectedResourceRequest(accessToken, 'GET', new URL(`${origin}/whoami`), undefined, undefined, { DPoP: handle, [oauth.allowInsecureRequests]: true });
    try {
      return await call();
    } catch (error) {
      if (oauth.isDPoPNonceError(error)) return call();
      throw error;
    }
  }

  it('oauth4webapi fetches the nonce on its first request and then reads /whoami with proofs of the bound key', async () => {
    const keyPair = await oauth.generateKeyPair('ES256');
    const accessToken = await login(keyPair);
    const handle = oauth.DPoP({}, keyPair);
    const first = await resource(accessToken, handle);
    expect(first.status).toBe(200);
    expect(((await first.json()) as { id: string }).id).toBe('u1');
    // The nonce from that answer is reused: no second nonce round trip.
    const second = await oauth.protectedResourceRequest(accessToken, 'GET', new URL(`${origin}/whoami`), undefined, undefined, { DPoP: handle, [oauth.allowInsecureRequests]: true });
    expect(second.status).toBe(200);
  });

  it('a proof by another key is refused with a challenge oauth4webapi parses as invalid_dpop_proof', async () => {
    const accessToken = await login(await oauth.generateKeyPair('ES256'));
    const thief = oauth.DPoP({}, await oauth.generateKeyPair('ES256'));
    const error = await resource(accessToken, thief).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    const challenge = error as oauth.WWWAuthenticateChallengeError;
    expect(challenge.status).toBe(401);
    expect(challenge.cause[0].scheme).toBe('dpop');
    expect(challenge.cause[0].parameters.error).toBe('invalid_dpop_proof');
    expect(challenge.cause[0].parameters.algs).toContain('ES256');
  });

  it('a nonce from another server secret, or a made-up one, is refused with a fresh nonce to retry with', async () => {
    const keyPair = await oauth.generateKeyPair('ES256');
    for (const nonce of ['0.AAAAAAAAAAAAAAAAAAAAAA', `${Math.floor(Date.now() / 60_000).toString(36)}.AAAAAAAAAAAAAAAAAAAAAA`, 'x'.repeat(80)]) {
      const res = await request(app.server).post('/login').set('X-Session-Transport', 'bearer').set('DPoP', await DPoP.generateProof(keyPair as DPoP.KeyPair, `${origin}/login`, 'POST', nonce)).send({ id: 'u1' });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('DPOP_NONCE_REQUIRED');
      expect(res.headers['dpop-nonce']).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{22}$/);
    }
  });

  it("dpop 'required': a bearer login with no proof is 400 DPOP_PROOF_REQUIRED", async () => {
    const res = await request(app.server).post('/login').set('X-Session-Transport', 'bearer').send({ id: 'u1' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('DPOP_PROOF_REQUIRED');
  });
});
