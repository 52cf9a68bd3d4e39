import request from 'supertest';
import { Logger } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose';
import type { SigningKey } from 'nest-sessions';
import { startBareApp } from './support/bare-app';
import { startApp, type TestApp } from './support/app';
import { PASSWORD, uniqueEmail } from './support/browser';
import { keyPair } from './support/key-pairs';

type BareApp = Awaited<ReturnType<typeof startBareApp>>;

const pem = () => keyPair('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const headerOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()) as Record<string, unknown>;
const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const listen = (server: Server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** Key rotation without logouts, and verification by another service through the JWK Set. */
describe('signing keys', () => {
  describe('the rotation runbook of docs/signing-keys.md, walked with live sessions (nobody is logged out)', () => {
    const jwtSecret = randomBytes(32).toString('base64url');
    const sessionSecret = randomBytes(32).toString('base64url');
    const esKey = pem();
    // Each step is a new deployment of the app on the same database and the same sessionSecret.
    // Steps 1 and 2 mix HMAC with ES256, which only hs256Migration allows.
    const steps: Record<string, { jwtSecret?: string; signingKeys?: SigningKey[]; currentSigningKey?: string; hs256Migration?: boolean }> = {
      '0: jwtSecret only': { jwtSecret },
      '1: add the new key, sign with the old secret under a kid': {
        jwtSecret,
        signingKeys: [{ kid: 'hs-1', alg: 'HS256', key: jwtSecret }, { kid: 'es-1', alg: 'ES256', key: esKey }],
        currentSigningKey: 'hs-1',
        hs256Migration: true,
      },
      '2: make the new key current': {
        jwtSecret,
        signingKeys: [{ kid: 'hs-1', alg: 'HS256', key: jwtSecret }, { kid: 'es-1', alg: 'ES256', key: esKey }],
        currentSigningKey: 'es-1',
        hs256Migration: true,
      },
      '3: after the access-token lifetime, retire the old secret': { signingKeys: [{ kid: 'es-1', alg: 'ES256', key: esKey }] },
    };
    const deploy = (step: string) => startBareApp({ session: { jwtSecret: undefined, ...steps[step], sessionSecret } });

    it('each step accepts the access tokens of the step before, rotates sessions onto the current key, and the last step refuses only retired keys', async () => {
      const whoami = (app: BareApp, token: string) => request(app.server).get('/whoami').set('Authorization', `Bearer ${token}`);
      const refresh = async (app: BareApp, refreshToken: string) => {
        const res = await request(app.server).post('/auth/refresh').send({ refreshToken });
        expect(res.status).toBe(200);
        return { access: res.body.accessToken as string, refresh: res.body.refreshToken as string };
      };
      let app = await deploy('0: jwtSecret only');
      let session: { access: string; refresh: string };
      try {
        const login = await request(app.server).post('/login').set('X-Session-Transport', 'bearer').send({ id: 'rotating-user' });
        session = { access: login.body.accessToken, refresh: login.body.refreshToken };
        expect(headerOf(session.access)).toEqual({ alg: 'HS256', typ: 'at+jwt' });
      } finally {
        await app.close();
      }
      const tokens: string[] = [session.access];
      for (const [step, expectedHeader] of [
        ['1: add the new key, sign with the old secret under a kid', { alg: 'HS256', typ: 'at+jwt', kid: 'hs-1' }],
        ['2: make the new key current', { alg: 'ES256', typ: 'at+jwt', kid: 'es-1' }],
      ] as const) {
        app = await deploy(step);
        try {
          // Every token the previous steps handed out still works, so a rolling deploy logs nobody out.
          for (const token of tokens) expect((await whoami(app, token)).status).toBe(200);
          session = await refresh(app, session.refresh);
          expect(headerOf(session.access)).toEqual(expectedHeader);
          expect((await whoami(app, session.access)).status).toBe(200);
          tokens.push(session.access);
        } finally {
          await app.close();
        }
      }
      app = await deploy('3: after the access-token lifetime, retire the old secret');
      try {
        const [legacy, hs1, es1] = tokens;
        expect((await whoami(app, es1)).status).toBe(200);
        expect((await whoami(app, hs1)).body.code).toBe('UNAUTHENTICATED');
        expect((await whoami(app, legacy)).body.code).toBe('UNAUTHENTICATED');
        // The session itself lives on: its refresh token does not depend on the signing keys.
        session = await refresh(app, session.refresh);
        expect((await whoami(app, session.access)).status).toBe(200);
      } finally {
        await app.close();
      }
    });
  });

  it('a start with hs256Migration and a mixed key set warns that the HMAC keys still verify; a start without the mix does not', async () => {
    const warnings: string[] = [];
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
    try {
      const es = { kid: 'es-1', alg: 'ES256' as const, key: pem() };
      const mixed = await startBareApp({ session: { jwtSecret: randomBytes(32).toString('base64url'), signingKeys: [es], hs256Migration: true } });
      await mixed.close();
      expect(warnings.filter((w) => w.includes('hs256Migration'))).toHaveLength(1);
      const single = await startBareApp({ session: { jwtSecret: undefined, signingKeys: [es], hs256Migration: true } });
      await single.close();
      expect(warnings.filter((w) => w.includes('hs256Migration'))).toHaveLength(1);
    } finally {
      warn.mockRestore();
    }
  });

  it('EdDSA (Ed25519) keys: the guards, logout and the JWK Set work with them; jose verifies the tokens; a tampered one is refused', async () => {
    const ed = keyPair('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const app = await startBareApp({ session: { jwtSecret: undefined, signingKeys: [{ kid: 'ed-1', alg: 'EdDSA', key: ed }] } });
    try {
      const login = await request(app.server).post('/login').set('X-Session-Transport', 'bearer').send({ id: 'ed-user' });
      const token = login.body.accessToken as string;
      expect(headerOf(token)).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed-1' });
      // Twice: the second answer comes from the verified-token cache.
      for (let i = 0; i < 2; i++) expect((await request(app.server).get('/whoami').set('Authorization', `Bearer ${token}`)).body.id).toBe('ed-user');
      const [h, p, s] = token.split('.');
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'admin' })).toString('base64url')}.${s}`;
      expect((await request(app.server).get('/whoami').set('Authorization', `Bearer ${tampered}`)).body.code).toBe('UNAUTHENTICATED');
      const jwks = (await request(app.server).get('/.well-known/jwks.json')).body;
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: 'nest-sessions', audience: 'nest-sessions', algorithms: ['EdDSA'], typ: 'at+jwt' });
      expect(payload.sub).toBe('ed-user');
      // Logout proven by the access token alone (its signature checked the same way).
      expect((await request(app.server).post('/auth/logout').set('Authorization', `Bearer ${token}`)).status).toBe(204);
      expect((await request(app.server).get('/whoami').set('Authorization', `Bearer ${token}`)).body.code).toBe('SESSION_REVOKED');
    } finally {
      await app.close();
    }
  });

  describe('another service verifies the sample\'s access tokens through GET /.well-known/jwks.json (jose, no shared secret)', () => {
    let sample: TestApp;
    let relay: Server;
    let verifier: Server;
    const esKey1 = pem();
    const esKey2 = pem();
    const startSample = (keys: SigningKey[]) => startApp({ JWT_SIGNING_KEYS: JSON.stringify(keys), JWT_SECRET: '', SESSION_TRANSPORTS: 'cookie,bearer' });

    beforeAll(async () => {
      sample = await startSample([{ kid: 'es-1', alg: 'ES256', key: esKey1 }]);
      // The verifier fetches the key set through this relay, so the sample behind it can be redeployed.
      relay = createServer((req, res) => {
        void fetch(`${urlOf(sample.server)}/.well-known/jwks.json`).then(async (answer) => {
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
          res.end(await answer.text());
        });
      });
      await listen(relay);
      // A minimal service of its own: no Nest, no nest-sessions, no secret; keys only from the JWK Set.
      const jwks = createRemoteJWKSet(new URL(`${urlOf(relay)}/jwks.json`), { cacheMaxAge: 500, cooldownDuration: 0 });
      verifier = createServer((req, res) => {
        const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        jwtVerify(token, jwks, { issuer: 'nest-sessions', audience: 'nest-sessions', algorithms: ['ES256'], typ: 'at+jwt' }).then(
          ({ payload }) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sub: payload.sub, sid: payload.sid })),
          () => res.writeHead(401).end(),
        );
      });
      await listen(verifier);
    });
    afterAll(async () => {
      await Promise.all([verifier && close(verifier), relay && close(relay)]);
      await sample?.close();
    });

    const bearerLogin = async () => {
      const email = uniqueEmail('jwks');
      expect((await request(sample.server).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201);
      const res = await request(sample.server).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
      expect(res.status).toBe(200);
      return { accessToken: res.body.accessToken as string, userId: res.body.user.id as string };
    };

    it('serves the public key with its kid, cacheable, and nothing secret', async () => {
      const res = await request(sample.server).get('/.well-known/jwks.json');
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=300');
      expect(res.headers['content-type']).toMatch(/^application\/jwk-set\+json/);
      expect(res.body.keys).toHaveLength(1);
      expect(res.body.keys[0]).toEqual({ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: 'es-1', alg: 'ES256', use: 'sig' });
    });

    it('the verifier accepts a genuine token, refuses a forged one, and refuses the token once its key has left the set', async () => {
      const { accessToken, userId } = await bearerLogin();
      const verify = (token: string) => fetch(`${urlOf(verifier)}/`, { headers: { authorization: `Bearer ${token}` } });
      const accepted = await verify(accessToken);
      expect(accepted.status).toBe(200);
      expect(((await accepted.json()) as { sub: string }).sub).toBe(userId);
      const [h, p, s] = accessToken.split('.');
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'someone-else' })).toString('base64url')}.${s}`;
      expect((await verify(forged)).status).toBe(401);

      // Redeploy the sample with the next key only: es-1 has left the set.
      await sample.close();
      sample = await startSample([{ kid: 'es-2', alg: 'ES256', key: esKey2 }]);
      expect((await request(sample.server).get('/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid)).toEqual(['es-2']);
      await new Promise((r) => setTimeout(r, 600)); // past the verifier's cache age
      expect((await verify(accessToken)).status).toBe(401);
      const next = await bearerLogin();
      expect(headerOf(next.accessToken).kid).toBe('es-2');
      expect((await verify(next.accessToken)).status).toBe(200);
    });
  });
});
