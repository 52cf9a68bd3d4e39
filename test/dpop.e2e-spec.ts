import request from 'supertest';
import type { AddressInfo } from 'node:net';
import { createHash, randomUUID } from 'node:crypto';
import * as DPoP from 'dpop';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair as joseKeyPair } from 'jose';
import { io } from 'socket.io-client';
import { startApp, type TestApp } from './support/app';
import { PASSWORD, uniqueEmail } from './support/browser';

/**
 * DPoP (RFC 9449) on the bearer transport, driven by panva's `dpop` package as the client: a
 * client no one here wrote makes the proofs, so the server is checked against the RFC as another
 * implementation reads it, not against our own reading twice. docs/dpop.md has the table of checks.
 */
describe('DPoP-bound bearer sessions (SESSION_DPOP=allowed)', () => {
  let t: TestApp;
  let origin: string;
  beforeAll(async () => {
    t = await startApp({ SESSION_DPOP: 'allowed' });
    origin = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
  });
  afterAll(() => t.close());

  const proof = (key: DPoP.KeyPair, method: string, path: string, accessToken?: string) => DPoP.generateProof(key, `${origin}${path}`, method, undefined, accessToken);

  async function boundLogin(key: DPoP.KeyPair) {
    const email = uniqueEmail('dpop');
    expect((await request(t.server).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201);
    const res = await request(t.server)
      .post('/auth/login')
      .set('X-Session-Transport', 'bearer')
      .set('DPoP', await proof(key, 'POST', '/auth/login'))
      .send({ email, password: PASSWORD });
    expect(res.status).toBe(200);
    return { accessToken: res.body.accessToken as string, refreshToken: res.body.refreshToken as string, tokenType: res.body.tokenType as string };
  }

  const whoami = async (accessToken: string, dpopProof?: string, scheme = 'DPoP') => {
    const req = request(t.server).get('/whoami').set('Authorization', `${scheme} ${accessToken}`);
    return dpopProof === undefined ? req : req.set('DPoP', dpopProof);
  };

  it('a login with a proof binds the session: tokenType DPoP, cnf.jkt is the key thumbprint, each request needs a fresh proof of that key', async () => {
    const key = await DPoP.generateKeyPair('ES256');
    const { accessToken, tokenType } = await boundLogin(key);
    expect(tokenType).toBe('DPoP');
    expect(decodeJwt(accessToken).cnf).toEqual({ jkt: await DPoP.calculateThumbprint(key.publicKey) });
    // Twice: the second answers from the verified-token cache, which must still ask for a proof.
    for (let i = 0; i < 2; i++) expect((await whoami(accessToken, await proof(key, 'GET', '/whoami', accessToken))).status).toBe(200);
    const none = await whoami(accessToken);
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('DPOP_PROOF_INVALID');
    expect(none.headers['www-authenticate']).toMatch(/^DPoP error="invalid_dpop_proof", algs="[A-Z0-9 ]*ES256/);
  });

  it('a bound token presented as Bearer is refused, with or without a proof', async () => {
    const key = await DPoP.generateKeyPair('ES256');
    const { accessToken } = await boundLogin(key);
    for (const dpopProof of [undefined, await proof(key, 'GET', '/whoami', accessToken)]) {
      const res = await whoami(accessToken, dpopProof, 'Bearer');
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('DPOP_PROOF_INVALID');
    }
  });

  it('a proof is spent once: the same proof again is refused', async () => {
    const key = await DPoP.generateKeyPair('ES256');
    const { accessToken } = await boundLogin(key);
    const once = await proof(key, 'GET', '/whoami', accessToken);
    expect((await whoami(accessToken, once)).status).toBe(200);
    const replay = await whoami(accessToken, once);
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('DPOP_PROOF_INVALID');
  });

  describe('every proof mutation is refused (401 DPOP_PROOF_INVALID)', () => {
    let key: DPoP.KeyPair;
    let accessToken: string;
    beforeAll(async () => {
      key = await DPoP.generateKeyPair('ES256');
      ({ accessToken } = await boundLogin(key));
    });

    /** A proof signed by hand with jose, for what the `dpop` package will not make. */
    async function handMade(edit: { header?: Record<string, unknown>; payload?: Record<string, unknown>; signWith?: 'private' | 'hmac' }) {
      const { publicKey, privateKey } = await joseKeyPair('ES256', { extractable: true });
      const payload = {
        jti: randomUUID(),
        htm: 'GET',
        htu: `${origin}/whoami`,
        iat: Math.floor(Date.now() / 1000),
        ath: createHash('sha256').update(accessToken).digest('base64url'),
        ...edit.payload,
      };
      if (edit.signWith === 'hmac') {
        return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey), ...edit.header }).sign(new Uint8Array(32).fill(7));
      }
      const jwk = edit.signWith === 'private' ? await exportJWK(privateKey) : await exportJWK(publicKey);
      return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk, ...edit.header }).sign(privateKey);
    }

    /** A proof made by a client whose clock is `offsetS` seconds off (the `dpop` package sets `iat` itself). */
    async function onClientClock(offsetS: number, make: () => Promise<string>): Promise<string> {
      const real = Date.now;
      Date.now = () => real() + offsetS * 1000;
      try {
        return await make();
      } finally {
        Date.now = real;
      }
    }

    const mutations: Array<[string, () => Promise<string>]> = [
      ['wrong htm', () => proof(key, 'POST', '/whoami', accessToken)],
      ['wrong htu (another path)', () => proof(key, 'GET', '/auth/sessions', accessToken)],
      ['wrong htu (another host)', () => DPoP.generateProof(key, 'http://evil.example/whoami', 'GET', undefined, accessToken)],
      ['ath of another token', () => proof(key, 'GET', '/whoami', `${accessToken}x`)],
      ['no ath', () => proof(key, 'GET', '/whoami')],
      ['iat 70 s old (the window is 60 s and the skew 5 s)', () => onClientClock(-70, () => proof(key, 'GET', '/whoami', accessToken))],
      ['iat 10 s ahead', () => onClientClock(10, () => proof(key, 'GET', '/whoami', accessToken))],
      ['another key than cnf.jkt', async () => proof(await DPoP.generateKeyPair('ES256'), 'GET', '/whoami', accessToken)],
      ['a private key (d) in the JWK', () => handMade({ signWith: 'private' })],
      ['HS256', () => handMade({ signWith: 'hmac' })],
      ['typ JWT', () => handMade({ header: { typ: 'JWT' } })],
      ['alg none', async () => {
        const [, payload] = (await proof(key, 'GET', '/whoami', accessToken)).split('.');
        const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'dpop+jwt', jwk: await exportJWK(key.publicKey) })).toString('base64url');
        return `${header}.${payload}.`;
      }],
      ['not a JWT', async () => 'not-a-proof'],
    ];
    it.each(mutations)('%s', async (_name, make) => {
      const res = await whoami(accessToken, await make());
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('DPOP_PROOF_INVALID');
      expect(res.headers['www-authenticate']).toContain('error="invalid_dpop_proof"');
    });

    it('and the genuine proof still passes afterwards (the mutations did not end the session); so does one 50 s old or 4 s ahead', async () => {
      expect((await whoami(accessToken, await proof(key, 'GET', '/whoami', accessToken))).status).toBe(200);
      expect((await whoami(accessToken, await onClientClock(-50, () => proof(key, 'GET', '/whoami', accessToken)))).status).toBe(200);
      expect((await whoami(accessToken, await onClientClock(4, () => proof(key, 'GET', '/whoami', accessToken)))).status).toBe(200);
    });
  });

  it('refresh needs a proof by the same key; a copied refresh secret alone or with another key is refused as theft and the session goes on', async () => {
    const key = await DPoP.generateKeyPair('ES256');
    const { refreshToken } = await boundLogin(key);
    const from = t.logger.lines.length;
    const refresh = async (dpopProof?: string) => {
      const req = request(t.server).post('/auth/refresh').send({ refreshToken });
      return dpopProof === undefined ? req : req.set('DPoP', dpopProof);
    };
    const stolen = await refresh();
    expect(stolen.status).toBe(401);
    expect(stolen.body.code).toBe('DPOP_PROOF_INVALID');
    expect(stolen.headers['www-authenticate']).toContain('invalid_dpop_proof');
    const otherKey = await refresh(await proof(await DPoP.generateKeyPair('ES256'), 'POST', '/auth/refresh'));
    expect(otherKey.status).toBe(401);
    expect(otherKey.body.code).toBe('DPOP_PROOF_INVALID');
    const theft = t.logger.lines.slice(from).filter((line) => line.includes('"event":"session.theft_suspected"'));
    expect(theft).toHaveLength(2);
    expect(theft.join('\n')).not.toContain(refreshToken.split('.')[1]);
    // The owner still refreshes, with the same secret: nothing was rotated or revoked.
    const owner = await refresh(await proof(key, 'POST', '/auth/refresh'));
    expect(owner.status).toBe(200);
    expect(owner.body.tokenType).toBe('DPoP');
    expect(decodeJwt(owner.body.accessToken).cnf).toEqual({ jkt: await DPoP.calculateThumbprint(key.publicKey) });
    expect((await whoami(owner.body.accessToken, await proof(key, 'GET', '/whoami', owner.body.accessToken))).status).toBe(200);
  });

  it('logout with a copied refresh secret and no proof proves nothing (204, the session goes on); with the key it ends the session', async () => {
    const key = await DPoP.generateKeyPair('ES256');
    const { refreshToken } = await boundLogin(key);
    expect((await request(t.server).post('/auth/logout').send({ refreshToken })).status).toBe(204);
    const still = await request(t.server).post('/auth/refresh').set('DPoP', await proof(key, 'POST', '/auth/refresh')).send({ refreshToken });
    expect(still.status).toBe(200);
    const next = still.body.refreshToken as string;
    expect((await request(t.server).post('/auth/logout').set('DPoP', await proof(key, 'POST', '/auth/logout')).send({ refreshToken: next })).status).toBe(204);
    const after = await request(t.server).post('/auth/refresh').set('DPoP', await proof(key, 'POST', '/auth/refresh')).send({ refreshToken: next });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('SESSION_REVOKED');
  });

  it('a bearer login without a proof is a plain bearer session (tokenType Bearer), and its token is refused as DPoP', async () => {
    const email = uniqueEmail('plain');
    await request(t.server).post('/auth/register').send({ email, password: PASSWORD });
    const res = await request(t.server).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.body.tokenType).toBe('Bearer');
    expect(decodeJwt(res.body.accessToken).cnf).toBeUndefined();
    expect((await whoami(res.body.accessToken, undefined, 'Bearer')).status).toBe(200);
    const key = await DPoP.generateKeyPair('ES256');
    const asDpop = await whoami(res.body.accessToken, await proof(key, 'GET', '/whoami', res.body.accessToken));
    expect(asDpop.status).toBe(401);
    expect(asDpop.body.code).toBe('DPOP_PROOF_INVALID');
  });

  it('a login with a bad proof is refused with the challenge, and starts no session', async () => {
    const email = uniqueEmail('badproof');
    await request(t.server).post('/auth/register').send({ email, password: PASSWORD });
    const key = await DPoP.generateKeyPair('ES256');
    const res = await request(t.server)
      .post('/auth/login')
      .set('X-Session-Transport', 'bearer')
      .set('DPoP', await proof(key, 'GET', '/auth/login'))
      .send({ email, password: PASSWORD });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('DPOP_PROOF_INVALID');
    expect(res.body.accessToken).toBeUndefined();
    expect(res.headers['www-authenticate']).toContain('invalid_dpop_proof');
  });

  it('a socket of a bound session opens only with a proof of its key in the handshake (auth.dpop)', async () => {
    const key = await DPoP.generateKeyPair('ES256');
    const { accessToken } = await boundLogin(key);
    /** The handshake's answer: the session id, or the refusal's code. */
    const handshake = (auth: Record<string, unknown>) =>
      new Promise<string>((resolve) => {
        const socket = io(`${origin}/events`, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 5_000, auth });
        const done = (value: string) => {
          socket.close();
          resolve(value);
        };
        socket.once('session', (payload: { sessionId: string }) => done(`session ${payload.sessionId}`));
        socket.once('connect_error', (error) => done(String((error as { data?: { code?: string } }).data?.code)));
      });
    expect(await handshake({ token: accessToken })).toBe('DPOP_PROOF_INVALID');
    expect(await handshake({ token: accessToken, dpop: await proof(await DPoP.generateKeyPair('ES256'), 'GET', '/socket.io/', accessToken) })).toBe('DPOP_PROOF_INVALID');
    expect(await handshake({ token: accessToken, dpop: await proof(key, 'GET', '/socket.io/', accessToken) })).toBe(`session ${decodeJwt(accessToken).sid as string}`);
  });

  it('Ed25519, PS256 and RS256 keys bind as well as ES256', async () => {
    for (const alg of ['Ed25519', 'PS256', 'RS256'] as const) {
      const key = await DPoP.generateKeyPair(alg);
      const { accessToken, tokenType } = await boundLogin(key);
      expect(tokenType).toBe('DPoP');
      expect((await whoami(accessToken, await proof(key, 'GET', '/whoami', accessToken))).status).toBe(200);
    }
  });
});

describe('SESSION_DPOP=required', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ SESSION_DPOP: 'required' });
  });
  afterAll(() => t.close());

  it('a bearer login without a proof is refused (400 DPOP_PROOF_REQUIRED); a browser login is not concerned', async () => {
    const email = uniqueEmail('required');
    await request(t.server).post('/auth/register').send({ email, password: PASSWORD });
    const bearer = await request(t.server).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
    expect(bearer.status).toBe(400);
    expect(bearer.body.code).toBe('DPOP_PROOF_REQUIRED');
    expect(bearer.headers['www-authenticate']).toMatch(/^DPoP algs="/);
    expect(bearer.body.accessToken).toBeUndefined();
    const cookie = await request(t.server).post('/auth/login').send({ email, password: PASSWORD });
    expect(cookie.status).toBe(200);
  });
});

describe('SESSION_DPOP=off (the default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('a DPoP header on a bearer login is ignored, as RFC 9449 asks of a server without DPoP: a plain bearer session', async () => {
    const email = uniqueEmail('off');
    await request(t.server).post('/auth/register').send({ email, password: PASSWORD });
    const key = await DPoP.generateKeyPair('ES256');
    const origin = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
    const res = await request(t.server)
      .post('/auth/login')
      .set('X-Session-Transport', 'bearer')
      .set('DPoP', await DPoP.generateProof(key, `${origin}/auth/login`, 'POST'))
      .send({ email, password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.body.tokenType).toBe('Bearer');
    expect(decodeJwt(res.body.accessToken).cnf).toBeUndefined();
  });
});
