import request from 'supertest';
import { startApp, TEST_JWT_SECRET, type TestApp } from './support/app';
import { ACCESS, bearerLogin } from './support/browser';
import { b64, decodeHeader, decodePayload, forge, rs256, unsigned } from './support/jwt-forge';

/** docs/security.md cases 1, 3–12, 14, 15: every variant of a bad access token is a 401 with a stable code. */
describe('access token verification on a guarded route', () => {
  let t: TestApp;
  let good: string;
  let claims: Record<string, unknown>;
  const HEADER = { alg: 'HS256', typ: 'at+jwt' };

  beforeAll(async () => {
    t = await startApp();
    good = (await bearerLogin(t)).accessToken;
    claims = decodePayload(good);
  });
  afterAll(() => t.close());

  const me = (token: string) => request(t.server).get('/me').set('Authorization', `Bearer ${token}`);
  const now = () => Math.floor(Date.now() / 1000);
  const expect401 = async (token: string, code = 'UNAUTHENTICATED') => {
    const res = await me(token);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ statusCode: 401, code, message: expect.any(String) });
    // The body is one of the fixed library messages: nothing the client sent is echoed.
    expect(['Authentication required.', 'The access token has expired; refresh it.']).toContain(res.body.message);
  };

  it('the genuine token and a hand-forged equal one are accepted (the forge is sound)', async () => {
    expect(decodeHeader(good)).toEqual(HEADER);
    expect((await me(good)).status).toBe(200);
    expect((await me(forge(HEADER, claims, TEST_JWT_SECRET))).status).toBe(200);
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])('case 1: alg %s, with and without a signature', async (alg) => {
    await expect401(unsigned({ alg, typ: 'at+jwt' }, claims));
    await expect401(`${b64({ alg, typ: 'at+jwt' })}.${b64(claims)}.${good.split('.')[2]}`);
  });

  it('case 3: HS384 with the right key; RS256 with a key of its own', async () => {
    await expect401(forge({ alg: 'HS384', typ: 'at+jwt' }, claims, TEST_JWT_SECRET, 'sha384'));
    await expect401(rs256({ alg: 'RS256', typ: 'at+jwt' }, claims));
  });

  it('case 4: changed payload or header, flipped, truncated or stripped signature', async () => {
    const [h, p, s] = good.split('.');
    await expect401(`${h}.${b64({ ...claims, sub: 'someone-else' })}.${s}`);
    await expect401(`${b64({ ...HEADER, kid: 'x' })}.${p}.${s}`);
    const flipped = (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    await expect401(`${h}.${p}.${flipped}`);
    await expect401(`${h}.${p}.${s.slice(0, -4)}`);
    await expect401(`${h}.${p}.`);
    await expect401(`${h}.${p}`);
    await expect401(forge(HEADER, claims, 'another-secret-that-is-long-enough-0123456789'));
  });

  it.each([
    ['one segment', 'abc'],
    ['four segments', 'a.b.c.d'],
    ['empty segments', '..'],
    ['bad base64url', '!!!.@@@.###'],
    ['JSON serialization', JSON.stringify({ payload: 'x', signatures: [] })],
    ['non-JSON header', `${Buffer.from('not json').toString('base64url')}.${b64({})}.sig`],
    ['header is an array', forge([] as unknown as object, {}, TEST_JWT_SECRET)],
    ['payload is a string', forge(HEADER, 'hello' as unknown as object, TEST_JWT_SECRET)],
  ])('case 5: malformed (%s) is 401, never 500', async (_label, token) => {
    await expect401(token);
  });

  it('case 6: exp past beyond the skew is ACCESS_TOKEN_EXPIRED; just inside the skew is accepted', async () => {
    await expect401(forge(HEADER, { ...claims, iat: now() - 100, exp: now() - 10 }, TEST_JWT_SECRET), 'ACCESS_TOKEN_EXPIRED');
    expect((await me(forge(HEADER, { ...claims, iat: now() - 100, exp: now() - 2 }, TEST_JWT_SECRET))).status).toBe(200);
    // Expired and badly signed says nothing about expiry.
    await expect401(forge(HEADER, { ...claims, exp: now() - 10 }, 'another-secret-that-is-long-enough-0123456789'));
    // Expired with a wrong audience is not "expired" either: aud is checked first.
    await expect401(forge(HEADER, { ...claims, aud: 'other', exp: now() - 10 }, TEST_JWT_SECRET));
  });

  it.each(['exp', 'iat', 'sub', 'sid', 'iss', 'aud', 'jti'])('case 7: missing %s', async (claim) => {
    const { [claim]: _dropped, ...rest } = claims;
    await expect401(forge(HEADER, rest, TEST_JWT_SECRET));
  });

  it('case 7: exp or iat not a number', async () => {
    await expect401(forge(HEADER, { ...claims, exp: String(now() + 600) }, TEST_JWT_SECRET));
    await expect401(forge(HEADER, { ...claims, iat: 'yesterday' }, TEST_JWT_SECRET));
    await expect401(forge(HEADER, { ...claims, roles: 'admin' }, TEST_JWT_SECRET));
  });

  it('case 8: nbf or iat in the future beyond the skew', async () => {
    await expect401(forge(HEADER, { ...claims, nbf: now() + 60 }, TEST_JWT_SECRET));
    await expect401(forge(HEADER, { ...claims, iat: now() + 60 }, TEST_JWT_SECRET));
  });

  it('case 9: wrong or missing iss; aud wrong, or an array without ours', async () => {
    await expect401(forge(HEADER, { ...claims, iss: 'evil' }, TEST_JWT_SECRET));
    await expect401(forge(HEADER, { ...claims, aud: 'other-api' }, TEST_JWT_SECRET));
    await expect401(forge(HEADER, { ...claims, aud: ['a', 'b'] }, TEST_JWT_SECRET));
    expect((await me(forge(HEADER, { ...claims, aud: ['other', claims.aud] }, TEST_JWT_SECRET))).status).toBe(200);
  });

  it.each([undefined, 'JWT', 'jwt', 'rt+jwt', 'id_token'])('case 10: typ %s', async (typ) => {
    await expect401(forge({ alg: 'HS256', ...(typ ? { typ } : {}) }, claims, TEST_JWT_SECRET));
  });

  it('case 12: tokens over 4 KiB are refused before decoding, as header and as cookie', async () => {
    const huge = forge(HEADER, { ...claims, pad: 'x'.repeat(5000) }, TEST_JWT_SECRET);
    await expect401(huge);
    const res = await request(t.server).get('/me').set('Cookie', `${ACCESS}=${huge}`);
    expect(res.status).toBe(401);
  });

  it('case 14: keys embedded in the header are ignored; an unknown crit is refused', async () => {
    const jwk = { kty: 'oct', k: Buffer.from('attacker-key-attacker-key-attacker-key!!').toString('base64url') };
    await expect401(forge({ ...HEADER, jwk }, claims, 'attacker-key-attacker-key-attacker-key!!'));
    await expect401(forge({ ...HEADER, jku: 'http://127.0.0.1:9/keys' }, claims, 'attacker-key-attacker-key-attacker-key!!'));
    await expect401(forge({ ...HEADER, x5u: 'http://127.0.0.1:9/cert' }, claims, 'attacker-key-attacker-key-attacker-key!!'));
    await expect401(forge({ ...HEADER, crit: ['exp-ext'], 'exp-ext': 1 }, claims, TEST_JWT_SECRET));
    // The configured key still verifies with the extra header fields present.
    expect((await me(forge({ ...HEADER, jwk }, claims, TEST_JWT_SECRET))).status).toBe(200);
  });

  it('case 15: not accepted from a query parameter, the body, or an unconfigured cookie', async () => {
    expect((await request(t.server).get(`/me?access_token=${good}`)).status).toBe(401);
    expect((await request(t.server).get(`/me?token=${good}`)).status).toBe(401);
    expect((await request(t.server).post('/notes').send({ text: 'x', access_token: good })).status).toBe(401);
    expect((await request(t.server).get('/me').set('Cookie', `token=${good}; jwt=${good}; ns-at-x=${good}`)).status).toBe(401);
    expect((await request(t.server).get('/me').set('Authorization', `Basic ${good}`)).status).toBe(401);
    expect((await request(t.server).get('/me').set('Authorization', `Bearer`)).status).toBe(401);
  });

  it('case 26: editing claims (exp, roles) client-side cannot extend a session or add a role', async () => {
    const tampered = `${good.split('.')[0]}.${b64({ ...claims, exp: now() + 86_400 * 365, roles: ['admin'] })}.${good.split('.')[2]}`;
    await expect401(tampered);
  });
});
