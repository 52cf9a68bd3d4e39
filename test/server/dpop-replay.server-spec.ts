import request from 'supertest';
import * as DPoP from 'dpop';
import { startAppProcess, type AppProcess } from '../support/processes';
import { PASSWORD, uniqueEmail } from '../support/browser';

/**
 * A DPoP proof is spent once across every instance (RFC 9449 §11.1): its `jti` is remembered in
 * the shared rate-limit store, here the PostgreSQL server. Two app processes behind one public
 * origin (`APP_ORIGIN`, as behind a load balancer), so a proof made for that origin is valid on
 * both; the client is panva's `dpop` package.
 */
describe('DPoP proofs replayed on another instance (PostgreSQL server)', () => {
  const ORIGIN = 'https://app.example.test';
  let a: AppProcess;
  let b: AppProcess;

  beforeAll(async () => {
    const settings = { SESSION_DPOP: 'allowed', APP_ORIGIN: ORIGIN };
    [a, b] = await Promise.all([startAppProcess(settings), startAppProcess(settings)]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([a, b].filter(Boolean).map((p) => p.stop()));
  });

  it('a proof accepted by A is refused by B; a fresh proof of the same key is accepted by B', async () => {
    const key = await DPoP.generateKeyPair('ES256');
    const email = uniqueEmail('dpop-replay');
    expect((await request(a.url).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201);
    const login = await request(a.url)
      .post('/auth/login')
      .set('X-Session-Transport', 'bearer')
      .set('DPoP', await DPoP.generateProof(key, `${ORIGIN}/auth/login`, 'POST'))
      .send({ email, password: PASSWORD });
    expect(login.status).toBe(200);
    expect(login.body.tokenType).toBe('DPoP');
    const accessToken = login.body.accessToken as string;
    const whoami = (on: AppProcess, proof: string) => request(on.url).get('/whoami').set('Authorization', `DPoP ${accessToken}`).set('DPoP', proof);

    const proof = await DPoP.generateProof(key, `${ORIGIN}/whoami`, 'GET', undefined, accessToken);
    expect((await whoami(a, proof)).status).toBe(200);
    const replayed = await whoami(b, proof);
    expect(replayed.status).toBe(401);
    expect(replayed.body.code).toBe('DPOP_PROOF_INVALID');
    expect(replayed.headers['www-authenticate']).toContain('error="invalid_dpop_proof"');
    expect((await whoami(b, await DPoP.generateProof(key, `${ORIGIN}/whoami`, 'GET', undefined, accessToken))).status).toBe(200);
  });
});
