import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { startApp, type TestApp } from './support/app';
import { useFakeDate } from './support/clock';
import { ACCESS, Browser, PASSWORD, REFRESH, setCookies, uniqueEmail } from './support/browser';

/**
 * Device Bound Session Credentials (W3C DBSC) on the wire, as Chromium 156
 * speaks it, played by a scripted browser. The proof that a real browser agrees is
 * test/browser/dbsc.browser-spec.ts (Debian's Chromium over HTTPS); this file pins every refusal.
 */
describe('DBSC for cookie sessions (SESSION_DBSC=on)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ SESSION_DBSC: 'on', ACCESS_TOKEN_TTL: '10m' });
  });
  afterAll(() => t.close());

  /** Structured-header parameters of `Secure-Session-Registration` or `Secure-Session-Challenge`. */
  const param = (header: string, name: string) => new RegExp(`;${name}="([^"]*)"`).exec(header)?.[1];

  async function keyPair() {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    return { publicKey, privateKey, jwk: await exportJWK(publicKey) };
  }
  const registrationProof = (key: { privateKey: CryptoKey; jwk: object }, challenge: string) =>
    new SignJWT({ jti: challenge }).setProtectedHeader({ alg: 'ES256', typ: 'dbsc+jwt', jwk: key.jwk as never }).sign(key.privateKey);
  const refreshProof = (privateKey: CryptoKey, challenge: string) => new SignJWT({ jti: challenge }).setProtectedHeader({ alg: 'ES256', typ: 'dbsc+jwt' }).sign(privateKey);

  /** A cookie login; the registration it offers: the path and the challenge. */
  async function login() {
    const browser = new Browser(t);
    const email = uniqueEmail('dbsc');
    expect((await browser.post('/auth/register', { email, password: PASSWORD })).status).toBe(201);
    const res = await browser.post('/auth/login', { email, password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.body.deviceBinding).toBe(true);
    const header = res.headers['secure-session-registration'] as string;
    expect(header).toMatch(/^\(ES256 RS256\);path="\/auth\/dbsc\/register";challenge="[^"]+"$/);
    return { browser, path: param(header, 'path')!, challenge: param(header, 'challenge')! };
  }

  /** Logs in and registers a key, as the browser does right after the login answer. */
  async function boundSession() {
    const { browser, path, challenge } = await login();
    const key = await keyPair();
    const res = await browser.send('post', path, { headers: { 'Secure-Session-Response': await registrationProof(key, challenge) }, csrf: false });
    expect(res.status).toBe(200);
    return { browser, key, registration: res };
  }

  it('registration binds the session: session JSON naming the access cookie, a short-lived access cookie, the next challenge', async () => {
    const { browser, registration } = await boundSession();
    const sessionId = browser.get(REFRESH)!.split('.')[0];
    expect(registration.body).toEqual({
      session_identifier: sessionId,
      refresh_url: '/auth/dbsc/refresh',
      scope: { include_site: false, scope_specification: [] },
      credentials: [{ type: 'cookie', name: ACCESS, attributes: 'Secure; HttpOnly; SameSite=Lax; Path=/' }],
      allowed_refresh_initiators: [],
    });
    const access = setCookies(registration).find((c) => c.name === ACCESS)!;
    expect(Number(access.attributes['max-age'])).toBeGreaterThan(590);
    expect(Number(access.attributes['max-age'])).toBeLessThanOrEqual(600);
    expect(registration.headers['secure-session-challenge']).toMatch(new RegExp(`^"[^"]+";id="${sessionId}"$`));
    expect((await browser.send('get', '/me')).status).toBe(200);
  });

  it('the plain refresh route refuses a bound session (401 DEVICE_PROOF_REQUIRED), logs theft_suspected, and the session goes on', async () => {
    const { browser, key } = await boundSession();
    const copied = new Browser(t);
    for (const [name, c] of browser.cookies) copied.cookies.set(name, { ...c });
    copied.csrfToken = browser.csrfToken;
    const from = t.logger.lines.length;
    const refused = await copied.post('/auth/refresh');
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('DEVICE_PROOF_REQUIRED');
    expect(t.logger.lines.slice(from).filter((l) => l.includes('"event":"session.theft_suspected"'))).toHaveLength(1);
    const challenge = /^"([^"]+)"/.exec((await browser.send('post', '/auth/dbsc/refresh', { csrf: false })).headers['secure-session-challenge'] as string)![1];
    const owner = await browser.send('post', '/auth/dbsc/refresh', { headers: { 'Secure-Session-Response': await refreshProof(key.privateKey, challenge) }, csrf: false });
    expect(owner.status).toBe(200);
    expect(owner.body.continue).toBeUndefined();
  });

  it('DBSC refresh: without a proof 403 and a challenge; with a proof of the session key, rotated cookies and the next challenge', async () => {
    const { browser, key } = await boundSession();
    const sessionId = browser.get(REFRESH)!.split('.')[0];
    const oldRefresh = browser.get(REFRESH);
    const first = await browser.send('post', '/auth/dbsc/refresh', { headers: { 'Sec-Secure-Session-Id': `"${sessionId}"` }, csrf: false });
    expect(first.status).toBe(403);
    const challenge = /^"([^"]+)";id="([^"]+)"$/.exec(first.headers['secure-session-challenge'] as string);
    expect(challenge?.[2]).toBe(sessionId);
    const second = await browser.send('post', '/auth/dbsc/refresh', {
      headers: { 'Sec-Secure-Session-Id': `"${sessionId}"`, 'Secure-Session-Response': await refreshProof(key.privateKey, challenge![1]) },
      csrf: false,
    });
    expect(second.status).toBe(200);
    expect(second.body.session_identifier).toBe(sessionId);
    expect(browser.get(REFRESH)).not.toBe(oldRefresh);
    expect(Number(setCookies(second).find((c) => c.name === ACCESS)!.attributes['max-age'])).toBeLessThanOrEqual(600);
    // The challenge that came with the answer is good for the next refresh: one round trip.
    const next = /^"([^"]+)"/.exec(second.headers['secure-session-challenge'] as string)![1];
    const third = await browser.send('post', '/auth/dbsc/refresh', { headers: { 'Secure-Session-Response': await refreshProof(key.privateKey, next) }, csrf: false });
    expect(third.status).toBe(200);
    expect((await browser.send('get', '/me')).status).toBe(200);
  });

  it('a proof by another key, or for another session\'s challenge, ends nothing but that client (continue: false), and the owner refreshes on', async () => {
    const owner = await boundSession();
    const sessionId = owner.browser.get(REFRESH)!.split('.')[0];
    /** A second browser holding copies of the owner's cookies (no key). */
    const copyOf = (from: Browser) => {
      const copy = new Browser(t);
      for (const [name, c] of from.cookies) copy.cookies.set(name, { ...c });
      return copy;
    };
    const thief = copyOf(owner.browser);
    const challengeRes = await thief.send('post', '/auth/dbsc/refresh', { csrf: false });
    const challenge = /^"([^"]+)"/.exec(challengeRes.headers['secure-session-challenge'] as string)![1];
    const forged = await thief.send('post', '/auth/dbsc/refresh', { headers: { 'Secure-Session-Response': await refreshProof((await keyPair()).privateKey, challenge) }, csrf: false });
    expect(forged.status).toBe(200);
    expect(forged.body).toEqual({ session_identifier: sessionId, continue: false });
    const other = await boundSession();
    const otherChallenge = /^"([^"]+)"/.exec(other.registration.headers['secure-session-challenge'] as string)![1];
    const wrongSession = await copyOf(owner.browser).send('post', '/auth/dbsc/refresh', { headers: { 'Secure-Session-Response': await refreshProof(owner.key.privateKey, otherChallenge) }, csrf: false });
    expect(wrongSession.body).toEqual({ session_identifier: sessionId, continue: false });
    const own = await owner.browser.send('post', '/auth/dbsc/refresh', { headers: { 'Secure-Session-Response': await refreshProof(owner.key.privateKey, challenge) }, csrf: false });
    expect(own.status).toBe(200);
    expect(own.body.session_identifier).toBe(sessionId);
  });

  it('a copied cookie jar cannot bind an older session to the thief\'s key: the login\'s challenge is spent after two minutes, and a refresh challenge registers nothing', async () => {
    const clock = useFakeDate();
    try {
      const { browser, path, challenge } = await login();
      const thief = new Browser(t);
      for (const [name, c] of browser.cookies) thief.cookies.set(name, { ...c });
      // An unbound session gets no refresh challenge at all: the DBSC refresh ends it for this client.
      const asked = await thief.send('post', '/auth/dbsc/refresh', { csrf: false });
      expect(asked.headers['secure-session-challenge']).toBeUndefined();
      expect(asked.body.continue).toBe(false);
      clock.advance(3 * 60_000);
      const late = await thief.send('post', path, { headers: { 'Secure-Session-Response': await registrationProof(await keyPair(), challenge) }, csrf: false });
      expect(late.status).toBe(401);
      expect((await browser.send('get', '/me')).status).toBe(200);
    } finally {
      clock.restore();
    }
  });

  it('a refresh proof answers one refresh: the same proof again is refused (continue: false), and the owner goes on with the next challenge', async () => {
    const { browser, key, registration } = await boundSession();
    const challenge = /^"([^"]+)"/.exec(registration.headers['secure-session-challenge'] as string)![1];
    const proof = await refreshProof(key.privateKey, challenge);
    const first = await browser.send('post', '/auth/dbsc/refresh', { headers: { 'Secure-Session-Response': proof }, csrf: false });
    expect(first.status).toBe(200);
    const next = /^"([^"]+)"/.exec(first.headers['secure-session-challenge'] as string)![1];
    const copy = new Browser(t);
    for (const [name, c] of browser.cookies) copy.cookies.set(name, { ...c });
    const replayed = await copy.send('post', '/auth/dbsc/refresh', { headers: { 'Secure-Session-Response': proof }, csrf: false });
    expect(replayed.body.continue).toBe(false);
    const own = await browser.send('post', '/auth/dbsc/refresh', { headers: { 'Secure-Session-Response': await refreshProof(key.privateKey, next) }, csrf: false });
    expect(own.status).toBe(200);
    expect(own.body.continue).toBeUndefined();
  });

  it('the owner logs a bound session out with its cookies, and a refused plain refresh leaves the browser\'s cookies alone', async () => {
    const { browser } = await boundSession();
    const sessionId = browser.get(REFRESH)!.split('.')[0];
    const plain = await browser.post('/auth/refresh');
    expect(plain.body.code).toBe('DEVICE_PROOF_REQUIRED');
    expect(plain.headers['set-cookie']).toBeUndefined();
    expect((await browser.post('/auth/logout')).status).toBe(204);
    expect(browser.get(REFRESH)).toBeUndefined();
    expect((await t.dataSource.query(`SELECT revoke_reason AS "reason" FROM auth_sessions WHERE id = $1`, [sessionId]))[0].reason).toBe('logout');
  });

  it('a session binds once: a second registration, with another key or the same, is refused', async () => {
    const { browser, path, challenge } = await login();
    const key = await keyPair();
    expect((await browser.send('post', path, { headers: { 'Secure-Session-Response': await registrationProof(key, challenge) }, csrf: false })).status).toBe(200);
    const again = await browser.send('post', path, { headers: { 'Secure-Session-Response': await registrationProof(await keyPair(), challenge) }, csrf: false });
    expect(again.status).toBe(401);
  });

  it('registration refuses a proof for another session\'s challenge, a private key, HS256 and a missing proof', async () => {
    const a = await login();
    const b = await login();
    const key = await keyPair();
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const proofs = [
      await registrationProof(key, b.challenge),
      await new SignJWT({ jti: a.challenge }).setProtectedHeader({ alg: 'ES256', typ: 'dbsc+jwt', jwk: privateJwk }).sign(privateKey),
      await new SignJWT({ jti: a.challenge }).setProtectedHeader({ alg: 'HS256', typ: 'dbsc+jwt', jwk: key.jwk as never }).sign(new Uint8Array(32)),
      await new SignJWT({ jti: a.challenge }).setProtectedHeader({ alg: 'ES256', typ: 'JWT', jwk: key.jwk as never }).sign(key.privateKey),
    ];
    for (const proof of proofs) expect((await a.browser.send('post', a.path, { headers: { 'Secure-Session-Response': proof }, csrf: false })).status).toBe(401);
    expect((await a.browser.send('post', a.path, { csrf: false })).status).toBe(401);
    // Still unbound after all that: the genuine registration goes through.
    expect((await a.browser.send('post', a.path, { headers: { 'Secure-Session-Response': await registrationProof(key, a.challenge) }, csrf: false })).status).toBe(200);
  });
});

describe('DBSC off (the default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('a cookie login offers no registration and the DBSC routes are 404', async () => {
    const browser = new Browser(t);
    const email = uniqueEmail('nodbsc');
    await browser.post('/auth/register', { email, password: PASSWORD });
    const res = await browser.post('/auth/login', { email, password: PASSWORD });
    expect(res.headers['secure-session-registration']).toBeUndefined();
    expect(res.body.deviceBinding).toBeUndefined();
    expect((await browser.send('post', '/auth/dbsc/register', { csrf: false })).status).toBe(404);
    expect((await browser.send('post', '/auth/dbsc/refresh', { csrf: false })).status).toBe(404);
  });
});
