import request from 'supertest';
import { startApp, type TestApp } from './support/app';
import { ACCESS, CSRF, REFRESH, setCookies, signedInBrowser, PASSWORD, uniqueEmail } from './support/browser';

const log = (...a: unknown[]) => process.stdout.write(`PROBE ${a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ')}\n`);

describe('review probe', () => {
  let t: TestApp;
  beforeAll(async () => { t = await startApp(); });
  afterAll(() => t.close());

  it('A: CSRF token of attacker session accepted on victim-authenticated request via planted refresh cookie', async () => {
    const { browser: victim } = await signedInBrowser(t);
    const { browser: attacker } = await signedInBrowser(t);
    const attackerSid = attacker.get(REFRESH)!.split('.')[0];
    const planted = `${attackerSid}.${'A'.repeat(43)}`; // no valid secret needed
    const res = await request(t.server).post('/notes')
      .set('Cookie', `${ACCESS}=${victim.get(ACCESS)}; ${REFRESH}=${planted}`)
      .set('x-csrf-token', attacker.csrfToken!)
      .send({ text: 'written by attacker' });
    log('A status', res.status, res.body);
    const list = await victim.send('get', '/notes');
    log('A victim notes', list.body);
    const control = await request(t.server).post('/notes')
      .set('Cookie', `${ACCESS}=${victim.get(ACCESS)}`)
      .set('x-csrf-token', attacker.csrfToken!)
      .send({ text: 'control' });
    log('A control (no planted rt)', control.status);
    // also logout-all of victim
    const la = await request(t.server).post('/auth/logout-all')
      .set('Cookie', `${ACCESS}=${victim.get(ACCESS)}; ${REFRESH}=${planted}`)
      .set('x-csrf-token', attacker.csrfToken!);
    log('A logout-all', la.status);
  });

  it('B: loadUser/user-repo DB error -> 500 not 503', async () => {
    const { browser } = await signedInBrowser(t);
    await t.dataSource.query('ALTER TABLE users RENAME TO users_x');
    try {
      const r = await browser.post('/auth/refresh');
      log('B refresh', r.status, r.body, 'set-cookie', setCookies(r).map((c) => c.name));
      const l = await request(t.server).post('/auth/login').send({ email: uniqueEmail(), password: PASSWORD });
      log('B login', l.status, l.body);
      const me = await browser.send('get', '/me');
      log('B me', me.status, me.body);
    } finally {
      await t.dataSource.query('ALTER TABLE users_x RENAME TO users');
    }
    log('B logs', t.logger.lines.filter((l) => /unhandled|error/i.test(l)).slice(-5));
  });

  it('C: logout with a duplicate (planted) refresh cookie does not revoke, even with a valid access cookie', async () => {
    const { browser } = await signedInBrowser(t);
    const rt = browser.get(REFRESH)!;
    const res = await request(t.server).post('/auth/logout')
      .set('Cookie', `${ACCESS}=${browser.get(ACCESS)}; ${REFRESH}=${rt}; ${REFRESH}=junk`)
      .set('x-csrf-token', browser.csrfToken!);
    log('C logout', res.status);
    const me = await request(t.server).get('/me').set('Cookie', `${ACCESS}=${browser.get(ACCESS)}`);
    log('C /me after logout', me.status);
    const r = await request(t.server).post('/auth/refresh').set('Cookie', `${REFRESH}=${rt}`).set('x-csrf-token', browser.csrfToken!);
    log('C refresh after logout', r.status);
  });

  it('D: json-only middleware path variants', async () => {
    const { browser } = await signedInBrowser(t);
    for (const p of ['/notes', '/notes/', '/NOTES', '/Notes/', '/auth/refresh', '/AUTH/REFRESH', '/auth/login', '/Auth/Login/']) {
      const r = await request(t.server).post(p)
        .set('Cookie', browser.cookieHeader(p.toLowerCase().replace(/\/$/, '')))
        .set('x-csrf-token', browser.csrfToken!)
        .set('Content-Type', 'text/plain').send('{"text":"hi","email":"a@b.co","password":"xxxxxxxxxxx"}');
      log('D', p, r.status, r.body?.code);
    }
  });

  it('E: odd bodies', async () => {
    const { browser } = await signedInBrowser(t);
    for (const body of ['[]', '[{"email":"a@b.co"}]', '{"email":{"a":1},"password":[1]}', '{"__proto__":{"x":1},"email":"a@b.co","password":"12345678"}', '{"<img src=x>":1,"email":"a@b.co","password":"12345678"}']) {
      const r = await request(t.server).post('/auth/login').set('Content-Type', 'application/json').send(body);
      log('E login', body, r.status, r.body);
      const n = await browser.send('post', '/notes', { headers: { 'Content-Type': 'application/json' } , body: undefined }).catch(() => null);
      void n;
      const n2 = await request(t.server).post('/notes').set('Cookie', browser.cookieHeader('/notes')).set('x-csrf-token', browser.csrfToken!).set('Content-Type', 'application/json').send(body);
      log('E notes', body, n2.status, n2.body);
    }
    const big = await request(t.server).post('/auth/login').set('Content-Type', 'application/json').send(JSON.stringify({ email: 'x'.repeat(20000) }));
    log('E big', big.status, big.body);
    const cs = await request(t.server).post('/auth/login').set('Content-Type', 'application/json; charset=utf-7').send('{}');
    log('E charset', cs.status, cs.body);
    const gz = await request(t.server).post('/auth/login').set('Content-Type', 'application/json').set('Content-Encoding', 'br').send('{}');
    log('E encoding', gz.status, gz.body);
    const id = await browser.send('delete', '/auth/sessions/%E0%A4%A');
    log('E bad uri', id.status, id.body);
  });

  it('F: CORS', async () => {
    const r = await request(t.server).options('/notes').set('Origin', 'https://evil.test').set('Access-Control-Request-Method', 'POST');
    log('F preflight evil', r.status, r.headers);
    const g = await request(t.server).get('/health').set('Origin', 'https://evil.test');
    log('F get evil', g.headers['access-control-allow-origin'], g.headers['access-control-allow-credentials'], g.headers['vary']);
  });

  it('G: CSRF Origin/Sec-Fetch-Site matrix on cookie POST /notes with valid token', async () => {
    const { browser } = await signedInBrowser(t);
    const cases: Record<string, string>[] = [
      {}, { 'Sec-Fetch-Site': 'cross-site' }, { 'Sec-Fetch-Site': 'same-site', Origin: 'https://sub.evil.test' },
      { Origin: 'null' }, { Origin: 'https://evil.test' }, { Referer: 'https://evil.test/x' }, { Referer: 'not a url' },
      { 'Sec-Fetch-Site': 'same-origin' }, { 'Sec-Fetch-Site': 'none' }, { 'Sec-Fetch-Site': 'CROSS-SITE' },
      { 'Sec-Fetch-Site': 'cross-site, same-origin' }, { Origin: '' },
    ];
    for (const h of cases) {
      let r = request(t.server).post('/notes').set('Cookie', browser.cookieHeader('/notes')).set('x-csrf-token', browser.csrfToken!);
      for (const [k, v] of Object.entries(h)) r = r.set(k, v);
      const res = await r.send({ text: 'x' });
      log('G', h, res.status);
    }
  });
});
