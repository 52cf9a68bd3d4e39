import request from 'supertest';
import { KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { startApp, TEST_JWT_SECRET, TEST_SESSION_SECRET, type TestApp } from './support/app';
import { ACCESS, bearerLogin, Browser, CSRF, PASSWORD, REFRESH, signedInBrowser, uniqueEmail } from './support/browser';
import { useFakeDate } from './support/clock';
import { forge, unsigned } from './support/jwt-forge';
import { bitFlips, caseFlips, insertAt, NON_ASCII_IN_HEADERS, replaceAt, sameBytesSpellings, standardBase64, type Variant } from './support/mutators';
import { HttpSecretRecorder, OutputCapture, SecretIndex, WINDOW } from './support/log-sweep';
import { RESOLVED_SESSION_OPTIONS } from '../libs/session/src/session.constants';

const WRONG_PASSWORD = 'incorrect horse battery staple';
const ADMIN_EMAIL = `log-admin-${randomUUID()}@example.test`;

const sessionOf = (b: Browser) => b.get(REFRESH)!.split('.')[0];

/**
 * docs/security.md case 48: a sweep over everything the security work added (both transports, every
 * session route, failures, rate limits, CSRF refusals, mutated and malformed credentials, a
 * database outage), then one check of every line logged at any level, the SessionAudit security
 * log included: none may hold any 16 characters of any secret the run handled.
 */
describe('case 48: no secret in any log line', () => {
  const index = new SecretIndex();
  const recorder = new HttpSecretRecorder(index);
  const output = new OutputCapture();
  const apps: Array<{ t: TestApp; open: boolean }> = [];
  let t: TestApp;
  let reusedSessionId = '';

  /**
   * Every key the library holds, in each encoding a log line could show. Found by walking the
   * resolved options rather than naming them, so a key added later is covered without an edit.
   */
  const rememberKeys = (app: TestApp) => {
    const visit = (value: unknown, path: string, depth: number): void => {
      const bytes = Buffer.isBuffer(value) ? value : value instanceof KeyObject && value.type === 'secret' ? value.export() : null;
      if (bytes) {
        for (const enc of ['hex', 'base64', 'base64url'] as const) index.add(`derived key (${path})`, bytes.toString(enc));
        return;
      }
      if (depth > 3 || !value || typeof value !== 'object') return;
      const proto = Object.getPrototypeOf(value);
      if (depth > 0 && !Array.isArray(value) && proto !== Object.prototype && proto !== null) return;
      for (const [key, inner] of Object.entries(value)) visit(inner, path ? `${path}.${key}` : key, depth + 1);
    };
    visit(app.app.get(RESOLVED_SESSION_OPTIONS), '', 0);
  };

  const boot = async (env: Record<string, string> = {}) => {
    const app = await startApp(env);
    recorder.watch(app.server);
    rememberKeys(app);
    apps.push({ t: app, open: true });
    return app;
  };

  const closeAll = async () => {
    for (const entry of apps) {
      if (!entry.open) continue;
      entry.open = false;
      await entry.t.close();
    }
  };

  beforeAll(async () => {
    output.start();
    recorder.start();
    index.add('JWT_SECRET', TEST_JWT_SECRET);
    index.add('SESSION_SECRET', TEST_SESSION_SECRET);
    index.add('password', PASSWORD);
    index.add('password', WRONG_PASSWORD);
    t = await boot({ ADMIN_EMAILS: ADMIN_EMAIL });
  });
  afterAll(async () => {
    try {
      await closeAll();
    } finally {
      recorder.stop();
      output.stop();
    }
  });

  it('case 48: cookie and bearer sessions through login, refresh, grace-window refresh, reuse, expiry, transport mismatch, logout, logout-all, revoking one session and disabling a user', async () => {
    // A second tab may send the token the first just rotated: inside the grace window that mints an access token.
    const { browser } = await signedInBrowser(t);
    const sid = sessionOf(browser);
    const rt1 = browser.get(REFRESH)!;
    expect((await browser.send('get', '/me')).status).toBe(200);
    expect((await browser.send('post', '/notes', { body: { text: 'kept' } })).status).toBe(201);
    expect((await browser.post('/auth/refresh')).status).toBe(200);
    const tab = new Browser(t, 'second-tab');
    tab.cookies.set(REFRESH, { value: rt1, path: '/auth' });
    tab.csrfToken = browser.csrfToken;
    const grace = await tab.post('/auth/refresh');
    expect(grace.status).toBe(200);
    expect(tab.get(REFRESH) === rt1).toBe(true);
    // Past the grace window the same token can only be a copy: reuse, which must be logged once, by session id.
    const clock = useFakeDate();
    try {
      clock.advance(11_000);
      const thief = new Browser(t, 'thief');
      thief.cookies.set(REFRESH, { value: rt1, path: '/auth' });
      thief.csrfToken = browser.csrfToken;
      expect((await thief.post('/auth/refresh')).status).toBe(401);
    } finally {
      clock.restore();
    }
    reusedSessionId = sid;
    expect((await browser.post('/auth/refresh')).status).toBe(401);

    // Expiry takes other paths through the same tokens (ACCESS_TOKEN_EXPIRED, a logout proven by an expired token).
    const { browser: late } = await signedInBrowser(t);
    const lateBearer = await bearerLogin(t);
    const later = useFakeDate();
    try {
      later.advance(11 * 60_000);
      expect((await late.send('get', '/me')).body.code).toBe('ACCESS_TOKEN_EXPIRED');
      expect((await late.post('/auth/refresh')).status).toBe(200);
      expect((await late.send('get', '/me')).status).toBe(200);
      expect((await request(t.server).post('/auth/logout').set('Authorization', `Bearer ${lateBearer.accessToken}`)).status).toBe(204);
    } finally {
      later.restore();
    }
    expect((await late.post('/auth/logout')).status).toBe(204);

    // A refresh token taken out of its HttpOnly cookie ends the session, on a path that logs a warning of its own.
    const { browser: robbed } = await signedInBrowser(t);
    expect((await request(t.server).post('/auth/refresh').send({ refreshToken: robbed.get(REFRESH) })).status).toBe(401);
    expect((await robbed.send('get', '/me')).status).toBe(401);

    const { browser: all, email: allEmail } = await signedInBrowser(t);
    const allOther = new Browser(t, 'other-device');
    expect((await allOther.post('/auth/login', { email: allEmail, password: PASSWORD })).status).toBe(200);
    expect((await all.post('/auth/logout-all')).status).toBe(204);
    expect((await allOther.send('get', '/me')).status).toBe(401);

    // Each revocation is a SessionAudit line naming a session: the id, never the refresh token it belongs to.
    const { browser: owner, email: ownerEmail } = await signedInBrowser(t);
    const device = new Browser(t, 'phone');
    expect((await device.post('/auth/login', { email: ownerEmail, password: PASSWORD })).status).toBe(200);
    expect((await owner.send('get', '/auth/sessions')).body).toHaveLength(2);
    expect((await owner.send('get', '/auth/csrf')).status).toBe(200);
    expect((await owner.send('delete', `/auth/sessions/${sessionOf(device)}`)).status).toBe(204);
    expect((await device.send('get', '/me')).status).toBe(401);
    expect((await owner.send('delete', `/auth/sessions/${randomUUID()}`)).status).toBe(404);
    expect((await owner.send('delete', '/auth/sessions/not-a-session-id')).status).toBe(404);
    expect((await owner.send('delete', `/auth/sessions/${sessionOf(owner)}`)).status).toBe(204);

    // Bearer clients hand their tokens over in bodies and headers, where a request logger would see them.
    const bearer = await bearerLogin(t);
    const auth = { Authorization: `Bearer ${bearer.accessToken}` };
    expect((await request(t.server).get('/me').set(auth)).status).toBe(200);
    expect((await request(t.server).get('/auth/csrf').set(auth)).status).toBe(200);
    expect((await request(t.server).get('/auth/sessions').set(auth)).status).toBe(200);
    const rotated = await request(t.server).post('/auth/refresh').send({ refreshToken: bearer.refreshToken });
    expect(rotated.status).toBe(200);
    const bearerGrace = await request(t.server).post('/auth/refresh').send({ refreshToken: bearer.refreshToken });
    expect([bearerGrace.status, 'refreshToken' in bearerGrace.body]).toEqual([200, false]);
    expect((await request(t.server).post('/auth/logout').set('Authorization', `Bearer ${rotated.body.accessToken}`).send({ refreshToken: rotated.body.refreshToken })).status).toBe(204);
    const bearerAll = await bearerLogin(t);
    expect((await request(t.server).post('/auth/logout-all').set('Authorization', `Bearer ${bearerAll.accessToken}`)).status).toBe(204);

    // Disabling a user revokes from an app route, outside the session controller.
    const { browser: admin } = await signedInBrowser(t, ADMIN_EMAIL);
    const { browser: victim, userId: victimId } = await signedInBrowser(t);
    expect((await victim.send('get', '/admin/ping')).status).toBe(403);
    expect((await admin.send('post', `/admin/users/${victimId}/disable`)).status).toBeLessThan(300);
    expect((await victim.post('/auth/refresh')).status).toBe(401);
  });

  it('case 48: failed logins, CSRF refusals, mutated and malformed tokens and cookies, and a database outage during refresh and login', async () => {
    const { browser: known, email } = await signedInBrowser(t);
    expect((await request(t.server).post('/auth/login').send({ email, password: WRONG_PASSWORD })).status).toBe(401);
    expect((await request(t.server).post('/auth/login').send({ email: uniqueEmail('nobody'), password: PASSWORD })).status).toBe(401);
    expect((await request(t.server).post('/auth/login').send({ email, password: WRONG_PASSWORD, secret: PASSWORD })).status).toBe(400);
    // The password in a truncated body is what a JSON parser's error message would quote.
    const truncatedJson = `{"email":"${email}","password":"${PASSWORD}"`;
    expect((await request(t.server).post('/auth/login').set('Content-Type', 'application/json').send(truncatedJson)).status).toBe(400);
    expect((await request(t.server).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(409);
    expect((await request(t.server).post('/auth/login').set('Sec-Fetch-Site', 'cross-site').send({ email, password: PASSWORD })).status).toBe(403);

    // Each CSRF refusal is a SessionAudit warning: it may name the session, never the token it was given.
    const { browser: other } = await signedInBrowser(t);
    const token = known.csrfToken!;
    const tampered = replaceAt(token, -2, token.at(-2) === 'A' ? 'B' : 'A');
    const csrfCases: Array<[string, { headers?: Record<string, string>; csrf?: boolean }]> = [
      ['POST /notes', { csrf: false }],
      ['POST /notes', { headers: { 'x-csrf-token': tampered }, csrf: false }],
      ['POST /notes', { headers: { 'x-csrf-token': other.csrfToken! }, csrf: false }],
      ['POST /notes', { headers: { 'Sec-Fetch-Site': 'cross-site' } }],
      ['POST /auth/refresh', { csrf: false }],
      ['POST /auth/logout-all', { headers: { 'x-csrf-token': tampered }, csrf: false }],
      ['POST /auth/logout', { headers: { 'Sec-Fetch-Site': 'cross-site' } }],
      [`DELETE /auth/sessions/${sessionOf(known)}`, { csrf: false }],
    ];
    for (const v of bitFlips(token.split('.')[1], 'csrf tag').slice(0, 4)) {
      csrfCases.push(['POST /notes', { headers: { 'x-csrf-token': `${token.split('.')[0]}.${v.value}` }, csrf: false }]);
    }
    for (const [route, options] of csrfCases) {
      const [method, path] = route.split(' ');
      const res = await known.send(method.toLowerCase() as 'post' | 'delete', path, { body: path === '/notes' ? { text: 'x' } : undefined, ...options });
      expect([route, res.status]).toEqual([route, 403]);
    }
    expect((await known.send('get', '/me')).status).toBe(200);

    // A mutant shares all but a few characters with the genuine token: logging one would leak the rest.
    const victim = await bearerLogin(t);
    const at = victim.accessToken;
    const [h, p, s] = at.split('.');
    const withSig = (v: Variant) => ({ label: v.label, value: `${h}.${p}.${v.value}` });
    const withPayload = (v: Variant) => ({ label: v.label, value: `${h}.${v.value}.${s}` });
    const accessMutants: Variant[] = [
      ...bitFlips(s, 'signature').map(withSig),
      ...bitFlips(p, 'payload').slice(0, 4).map(withPayload),
      ...standardBase64(s, 'signature').map(withSig),
      ...sameBytesSpellings(s).map((value, i) => ({ label: `signature spelling ${i}`, value: `${h}.${p}.${value}` })),
      ...caseFlips(at, 'token'),
      { label: 'attacker key', value: forge({ alg: 'HS256', typ: 'at+jwt' }, JSON.parse(Buffer.from(p, 'base64url').toString()), randomBytes(32)) },
      { label: 'alg none', value: unsigned({ alg: 'none', typ: 'at+jwt' }, JSON.parse(Buffer.from(p, 'base64url').toString())) },
      { label: 'signature dropped', value: `${h}.${p}.` },
      { label: 'segments swapped', value: `${p}.${h}.${s}` },
    ];
    for (const m of accessMutants) index.add('mutated access token', m.value);
    for (const m of accessMutants) {
      expect([m.label, (await request(t.server).get('/me').set('Authorization', `Bearer ${m.value}`)).status]).toEqual([m.label, 401]);
    }
    for (const m of accessMutants.slice(0, 8)) {
      expect([m.label, (await request(t.server).get('/me').set('Cookie', `${ACCESS}=${m.value}`)).status]).toEqual([m.label, 401]);
    }

    // The genuine token must still rotate afterwards: a mutant is refused without revoking anything.
    const rt = victim.refreshToken;
    const [rsid, secret] = rt.split('.');
    const withSecret = (v: Variant) => ({ label: v.label, value: `${rsid}.${v.value}` });
    const refreshMutants: Variant[] = [
      ...bitFlips(secret, 'secret').map(withSecret),
      ...standardBase64(secret, 'secret').map(withSecret),
      ...sameBytesSpellings(secret).map((value, i) => ({ label: `secret spelling ${i}`, value: `${rsid}.${value}` })),
      ...caseFlips(rt, 'token'),
      { label: 'secret truncated', value: rt.slice(0, -1) },
      { label: 'extra character', value: `${rt}A` },
      { label: 'dot doubled', value: insertAt(rt, rsid.length, '.') },
      { label: 'id and secret swapped', value: `${secret}.${rsid}` },
      { label: 'another session id', value: `${randomUUID()}.${secret}` },
    ];
    for (const m of refreshMutants) index.addRefreshToken('mutated refresh token', m.value);
    for (const m of refreshMutants) {
      expect([m.label, (await request(t.server).post('/auth/refresh').send({ refreshToken: m.value })).status]).toEqual([m.label, 401]);
    }
    const { browser: cookieVictim } = await signedInBrowser(t);
    const crt = cookieVictim.get(REFRESH)!;
    const cookieMutants = bitFlips(crt.split('.')[1], 'cookie secret')
      .slice(0, 5)
      .map((v) => `${crt.split('.')[0]}.${v.value}`);
    for (const value of cookieMutants) {
      index.addRefreshToken('mutated refresh token', value);
      const res = await request(t.server).post('/auth/refresh').set('Cookie', `${REFRESH}=${value}`).set('x-csrf-token', cookieVictim.csrfToken!);
      expect(res.status).toBe(401);
    }
    const still = await request(t.server).post('/auth/refresh').send({ refreshToken: rt });
    expect(still.status).toBe(200);
    expect((await cookieVictim.post('/auth/refresh')).status).toBe(200);

    // Malformed credentials fail in the parsers, before the code that knows what to keep out of the log.
    const fresh = await bearerLogin(t);
    const basic = `Basic ${Buffer.from(`${fresh.email}:${PASSWORD}`).toString('base64')}`;
    const authorizations = [
      `Bearer  ${fresh.accessToken}`,
      `Bearer ${fresh.accessToken} ${fresh.accessToken}`,
      `Bearer ${fresh.accessToken}, Bearer ${fresh.accessToken}`,
      `Token ${fresh.accessToken}`,
      `Bearer "${fresh.accessToken}"`,
      `Bearer ${fresh.accessToken}x`,
      `Bearer ${fresh.accessToken.replace(/\./g, '..')}`,
      `Bearer ${fresh.accessToken}${'A'.repeat(9000)}`,
      `Bearer ${fresh.refreshToken}`,
      `Bearer ${fresh.csrfToken}`,
      `Bearer ${TEST_JWT_SECRET}`,
      `${fresh.accessToken}`,
      basic,
      ...NON_ASCII_IN_HEADERS.map(([, ch]) => `Bearer ${insertAt(fresh.accessToken, 20, ch)}`),
    ];
    for (const [i, value] of authorizations.entries()) {
      expect([i, (await request(t.server).get('/me').set('Authorization', value)).status]).toEqual([i, 401]);
    }
    const cookies = [
      `${ACCESS}=garbage.${fresh.accessToken}`,
      `${ACCESS}=${fresh.accessToken}; ${ACCESS}=${fresh.accessToken}x`,
      `${ACCESS}="${fresh.accessToken}x"`,
      `${ACCESS}=%ZZ${fresh.accessToken}`,
      `__host-ns-at=${fresh.accessToken}; ${ACCESS}=${fresh.accessToken}x`,
      `${ACCESS}=${fresh.accessToken}${'A'.repeat(5000)}`,
      `${ACCESS}=${fresh.refreshToken}`,
      `${ACCESS}=${fresh.csrfToken}; ${CSRF}=${fresh.csrfToken}`,
      `${REFRESH}=${fresh.refreshToken}`,
      `${ACCESS}=${TEST_SESSION_SECRET};;;${REFRESH}=${fresh.refreshToken}x`,
    ];
    for (const [i, value] of cookies.entries()) {
      expect([i, (await request(t.server).get('/me').set('Cookie', value)).status]).toEqual([i, 401]);
    }
    const disagreeing = await request(t.server).get('/me').set('Authorization', `Bearer ${fresh.accessToken}`).set('Cookie', `${ACCESS}=${at}`);
    expect(disagreeing.status).toBe(401);
    const both = await request(t.server).post('/auth/refresh').set('Cookie', `${REFRESH}=${crt}`).send({ refreshToken: fresh.refreshToken });
    expect(both.status).toBeGreaterThanOrEqual(400);
    expect(both.status).toBeLessThan(500);

    // Database errors carry their SQL parameters (token hashes): the store may log the error code only.
    const down = await bearerLogin(t);
    const { browser: downCookie, email: downEmail } = await signedInBrowser(t);
    await t.dataSource.query(`ALTER TABLE auth_sessions RENAME TO auth_sessions_gone`);
    try {
      expect((await request(t.server).post('/auth/refresh').send({ refreshToken: down.refreshToken })).status).toBe(503);
      expect((await downCookie.post('/auth/refresh')).status).toBe(503);
      expect((await request(t.server).post('/auth/login').send({ email: downEmail, password: PASSWORD })).status).toBe(503);
      expect((await request(t.server).post('/auth/logout').send({ refreshToken: down.refreshToken })).status).toBe(503);
    } finally {
      await t.dataSource.query(`ALTER TABLE auth_sessions_gone RENAME TO auth_sessions`);
    }
    await t.dataSource.query(`ALTER TABLE auth_rate_limits RENAME TO auth_rate_limits_gone`);
    try {
      expect((await request(t.server).post('/auth/refresh').send({ refreshToken: down.refreshToken })).status).toBe(503);
      expect((await request(t.server).post('/auth/login').send({ email: downEmail, password: PASSWORD })).status).toBe(503);
    } finally {
      await t.dataSource.query(`ALTER TABLE auth_rate_limits_gone RENAME TO auth_rate_limits`);
    }
    expect((await request(t.server).post('/auth/refresh').send({ refreshToken: down.refreshToken })).status).toBe(200);
    expect((await downCookie.post('/auth/refresh')).status).toBe(200);
  });

  it('case 48: rate limits hit on login per account, register per address and refresh per address and per session', async () => {
    const limited = await boot({
      TRUST_PROXY: 'loopback',
      LOGIN_ACCOUNT_RATE_LIMIT: '2',
      REGISTER_RATE_LIMIT: '2',
      REFRESH_RATE_LIMIT: '3',
      REFRESH_SESSION_RATE_LIMIT: '3',
      RATE_LIMIT_WINDOW: '1m',
    });
    let host = 0;
    const address = () => `198.51.100.${++host}`;
    const post = (path: string, from: string, body: object, headers: Record<string, string> = {}) =>
      request(limited.server).post(path).set('X-Forwarded-For', from).set(headers).send(body);
    // A still clock, so that no attempt refills while the loop runs on a slow machine.
    const clock = useFakeDate();
    try {
      const crowded = address();
      for (let i = 0; i < 2; i++) expect((await post('/auth/register', crowded, { email: uniqueEmail('crowd'), password: PASSWORD })).status).toBe(201);
      const refusedRegister = await post('/auth/register', crowded, { email: uniqueEmail('crowd'), password: PASSWORD });
      expect([refusedRegister.status, refusedRegister.body.code]).toEqual([429, 'RATE_LIMITED']);

      const email = uniqueEmail('guessed');
      expect((await post('/auth/register', address(), { email, password: PASSWORD })).status).toBe(201);
      const guesser = address();
      for (let i = 0; i < 2; i++) expect((await post('/auth/login', guesser, { email, password: WRONG_PASSWORD })).status).toBe(401);
      expect((await post('/auth/login', guesser, { email, password: PASSWORD })).status).toBe(429);

      const holderEmail = uniqueEmail('holder');
      expect((await post('/auth/register', address(), { email: holderEmail, password: PASSWORD })).status).toBe(201);
      const login = await post('/auth/login', address(), { email: holderEmail, password: PASSWORD }, { 'X-Session-Transport': 'bearer' });
      expect(login.status).toBe(200);
      const refreshToken = login.body.refreshToken as string;
      const busy = address();
      for (let i = 0; i < 3; i++) expect((await post('/auth/refresh', busy, { refreshToken: 'not-a-token' })).status).toBe(401);
      expect((await post('/auth/refresh', busy, { refreshToken })).status).toBe(429);

      const [sessionId] = refreshToken.split('.');
      for (let i = 0; i < 3; i++) {
        const guess = `${sessionId}.${randomBytes(32).toString('base64url')}`;
        index.addRefreshToken('guessed refresh token', guess);
        expect((await post('/auth/refresh', address(), { refreshToken: guess })).status).toBe(401);
      }
      expect((await post('/auth/refresh', address(), { refreshToken })).status).toBe(429);

      // A cookie session over its per-session limit: the browser's genuine cookie is refused.
      const browser = new Browser(limited);
      const cookieEmail = uniqueEmail('cookie');
      expect((await browser.post('/auth/register', { email: cookieEmail, password: PASSWORD }, { 'X-Forwarded-For': address() })).status).toBe(201);
      expect((await browser.post('/auth/login', { email: cookieEmail, password: PASSWORD }, { 'X-Forwarded-For': address() })).status).toBe(200);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await browser.post('/auth/refresh', undefined, { 'X-Forwarded-For': address() })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
    } finally {
      clock.restore();
    }
  });

  it('case 48: a full login / refresh / reuse / logout / failure run logs the reuse by session id only, and no log line at any level, SessionAudit lines included, holds 16 characters of any token, secret, password or credential header', async () => {
    // Shutdown logs count too.
    await closeAll();
    const lines = [
      ...apps.flatMap(({ t: app }, i) => app.logger.lines.map((text) => ({ source: `app ${i} logger`, text }))),
      ...output.lines.map((text) => ({ source: 'console/stdout/stderr', text })),
    ];
    const texts = lines.map((l) => l.text);

    // The sweep must have happened for the check to mean anything.
    expect(recorder.requests).toBeGreaterThan(150);
    expect(index.countsByKind()).toEqual(
      expect.objectContaining({
        'access token': expect.any(Number),
        'refresh token': expect.any(Number),
        'refresh secret': expect.any(Number),
        'CSRF token': expect.any(Number),
        'Cookie header': expect.any(Number),
        'Authorization header': expect.any(Number),
        'Set-Cookie header': expect.any(Number),
        'mutated access token': expect.any(Number),
        'mutated refresh token': expect.any(Number),
      }),
    );
    expect(Object.keys(index.countsByKind()).filter((kind) => kind.startsWith('derived key')).length).toBeGreaterThanOrEqual(3);

    // JSON.parse quotes the text it fails on, so an unparsable audit line is counted, never thrown.
    const parsed = texts.filter((l) => l.endsWith(' SessionAudit')).map((l) => {
      try {
        return JSON.parse(l.slice(l.indexOf(' ') + 1, -' SessionAudit'.length)) as Record<string, unknown>;
      } catch {
        return null;
      }
    });
    expect(parsed.filter((a) => a === null).length).toBe(0);
    const audit = parsed.filter((a): a is Record<string, unknown> => a !== null);
    for (const line of audit) expect(Object.keys(line)).toEqual(expect.arrayContaining(['event', 'at', 'userId', 'sessionId']));
    expect([...new Set(audit.map((a) => a.event))].sort()).toEqual(
      expect.arrayContaining([
        'login.failed',
        'session.csrf_rejected',
        'session.issued',
        'session.refresh_failed',
        'session.refreshed',
        'session.reuse_detected',
        'session.revoked',
      ]),
    );

    // Counts and booleans only: a failing matcher would print the lines it was given.
    const reuse = texts.filter((l) => l.includes('reuse detected'));
    expect(reuse.length).toBe(1);
    expect(reuse[0].includes(reusedSessionId)).toBe(true);
    expect(audit.filter((a) => a.event === 'session.reuse_detected' && a.sessionId === reusedSessionId).length).toBe(1);
    expect(texts.some((l) => l.includes('session store query failed'))).toBe(true);
    expect(texts.some((l) => l.includes('auth_rate_limits is missing'))).toBe(true);

    const problems = index.scan(lines).map((f) => `line ${f.line} (${f.source}): ${WINDOW} characters of ${f.kinds.join(', ')}`);
    lines.forEach(({ source, text }, line) => {
      if (/eyJ[A-Za-z0-9_-]{10,}\./.test(text)) problems.push(`line ${line} (${source}): a JWT-shaped string`);
      if (/__Host-ns-|__Secure-ns-|authorization|set-cookie/i.test(text)) problems.push(`line ${line} (${source}): a cookie or credential header name`);
    });
    expect(problems).toEqual([]);
  });
});
