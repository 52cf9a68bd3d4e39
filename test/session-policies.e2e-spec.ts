import request from 'supertest';
import { startApp, type TestApp } from './support/app';
import { ACCESS, Browser, PASSWORD, REFRESH, uniqueEmail } from './support/browser';
import { startBareApp } from './support/bare-app';
import { DataSource } from 'typeorm';
import { SessionEvents, type SessionEvent } from 'nest-sessions';

const SAFARI_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15';
const CHROME_ANDROID = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36';
const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0';

/** Session policies: device labels, and ending every other session. */
describe('session policies', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  /** One user signed in on a browser per user agent. */
  async function devices(agents: string[]) {
    const email = uniqueEmail('devices');
    expect((await request(t.server).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201);
    const browsers: Browser[] = [];
    for (const agent of agents) {
      const browser = new Browser(t, agent);
      expect((await browser.post('/auth/login', { email, password: PASSWORD })).status).toBe(200);
      browsers.push(browser);
    }
    return browsers;
  }

  it('GET /auth/sessions names each device from its user agent', async () => {
    const [mac] = await devices([SAFARI_MAC, CHROME_ANDROID, FIREFOX_WINDOWS, 'curl/8.5.0']);
    const list = await mac.send('get', '/auth/sessions');
    expect(list.status).toBe(200);
    const byAgent = Object.fromEntries((list.body as Array<{ userAgent: string; device: string | null; current: boolean }>).map((s) => [s.userAgent, s]));
    expect(byAgent[SAFARI_MAC]).toMatchObject({ device: 'Safari on macOS', current: true });
    expect(byAgent[CHROME_ANDROID]).toMatchObject({ device: 'Chrome on Android (mobile)', current: false });
    expect(byAgent[FIREFOX_WINDOWS]).toMatchObject({ device: 'Firefox on Windows', current: false });
    expect(byAgent['curl/8.5.0'].device).toBeNull();
  });

  it('POST /auth/logout-others ends every other session at once and keeps this one', async () => {
    const [keep, ...others] = await devices([SAFARI_MAC, CHROME_ANDROID, FIREFOX_WINDOWS]);
    const othersIds = others.map((b) => b.get(REFRESH)!.split('.')[0]);
    expect((await keep.post('/auth/logout-others')).status).toBe(204);
    for (const other of others) {
      expect((await other.send('get', '/me')).body.code).toBe('SESSION_REVOKED');
      expect((await other.post('/auth/refresh')).status).toBe(401);
    }
    expect((await keep.send('get', '/me')).status).toBe(200);
    expect((await keep.post('/auth/refresh')).status).toBe(200);
    const rows = await t.dataSource.query(`SELECT id, revoke_reason FROM auth_sessions WHERE id = ANY($1::uuid[])`, [othersIds]);
    expect(rows.map((r: { revoke_reason: string }) => r.revoke_reason)).toEqual(['logout_others', 'logout_others']);
    const list = await keep.send('get', '/auth/sessions');
    expect(list.body).toHaveLength(1);
  });

  it('POST /auth/logout-others is CSRF-protected and needs a session', async () => {
    const [keep, other] = await devices([SAFARI_MAC, CHROME_ANDROID]);
    expect((await keep.send('post', '/auth/logout-others', { csrf: false })).status).toBe(403);
    expect((await request(t.server).post('/auth/logout-others')).status).toBe(401);
    expect((await other.send('get', '/me')).status).toBe(200);
  });

  it('deviceLabel replaces the label; one that throws leaves it out and the list still answers', async () => {
    for (const [deviceLabel, expected] of [
      [(ua: string | null) => (ua?.includes('Android') ? 'a phone' : 'something else'), 'a phone'],
      [() => { throw new Error('parser broke'); }, null],
    ] as const) {
      const app = await startBareApp({ session: { deviceLabel } });
      try {
        const login = await request(app.server).post('/login').set('User-Agent', CHROME_ANDROID).send({ id: 'labelled' });
        const cookie = login.headers['set-cookie'] as unknown as string[];
        const access = cookie.find((c) => c.startsWith(`${ACCESS}=`))!.split(';')[0];
        const list = await request(app.server).get('/auth/sessions').set('Cookie', access);
        expect(list.status).toBe(200);
        expect(list.body[0].device).toBe(expected);
      } finally {
        await app.close();
      }
    }
  });

  it('the session list shows only ids, times, the agent, its label and the address: never a token or hash', async () => {
    const [mac] = await devices([SAFARI_MAC]);
    const list = await mac.send('get', '/auth/sessions');
    expect(Object.keys(list.body[0]).sort()).toEqual(['createdAt', 'current', 'device', 'expiresAt', 'id', 'ip', 'lastSeenAt', 'userAgent']);
  });

  describe('case 31: a per-user session limit', () => {
    type BareApp = Awaited<ReturnType<typeof startBareApp>>;
    const login = (app: BareApp, id: string) => request(app.server).post('/login').set('X-Session-Transport', 'bearer').send({ id });
    const live = async (app: BareApp, id: string) =>
      (await app.app.get(DataSource).query(`SELECT id FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at`, [id])).map(
        (r: { id: string }) => r.id,
      );

    it("evict_oldest: the login beyond the limit ends the oldest session at once (its access token and refresh are refused)", async () => {
      const app = await startBareApp({ session: { sessionLimit: { max: 2 } } });
      try {
        const revoked: Array<SessionEvent & { reason: string }> = [];
        app.app.get(SessionEvents).on('revoked', (e) => void revoked.push(e));
        const user = `capped-${Date.now()}`;
        const [first, second, third] = [await login(app, user), await login(app, user), await login(app, user)];
        for (const res of [first, second, third]) expect(res.status).toBe(200);
        const whoami = (token: string) => request(app.server).get('/whoami').set('Authorization', `Bearer ${token}`);
        expect((await whoami(first.body.accessToken)).body.code).toBe('SESSION_REVOKED');
        expect((await request(app.server).post('/auth/refresh').send({ refreshToken: first.body.refreshToken })).status).toBe(401);
        expect((await whoami(second.body.accessToken)).status).toBe(200);
        expect((await whoami(third.body.accessToken)).status).toBe(200);
        const firstId = first.body.refreshToken.split('.')[0];
        expect(await live(app, user)).toEqual([second.body.refreshToken.split('.')[0], third.body.refreshToken.split('.')[0]]);
        expect(revoked).toEqual([expect.objectContaining({ sessionId: firstId, reason: 'session_limit' })]);
        const [row] = await app.app.get(DataSource).query(`SELECT revoke_reason FROM auth_sessions WHERE id = $1`, [firstId]);
        expect(row.revoke_reason).toBe('session_limit');
      } finally {
        await app.close();
      }
    });

    it('refuse: the login beyond the limit is 409 SESSION_LIMIT_REACHED with no session and no tokens; after a logout it works again', async () => {
      const app = await startBareApp({ session: { sessionLimit: { max: 2, onLimit: 'refuse' } } });
      try {
        const user = `refused-${Date.now()}`;
        const first = await login(app, user);
        await login(app, user);
        const refused = await login(app, user);
        expect([refused.status, refused.body.code]).toEqual([409, 'SESSION_LIMIT_REACHED']);
        expect(refused.body.accessToken).toBeUndefined();
        expect(refused.headers['set-cookie']).toBeUndefined();
        expect(await live(app, user)).toHaveLength(2);
        expect((await request(app.server).post('/auth/logout').send({ refreshToken: first.body.refreshToken })).status).toBe(204);
        expect((await login(app, user)).status).toBe(200);
      } finally {
        await app.close();
      }
    });

    it.each([['evict_oldest'], ['refuse']] as const)('%s: ten logins at once leave exactly the limit live (the count and the insert are one transaction)', async (onLimit) => {
      const app = await startBareApp({ session: { sessionLimit: { max: 3, onLimit } } });
      try {
        const user = `racing-${onLimit}-${Date.now()}`;
        const results = await Promise.all(Array.from({ length: 10 }, () => login(app, user)));
        const ok = results.filter((r) => r.status === 200).length;
        expect(ok).toBe(onLimit === 'refuse' ? 3 : 10);
        expect(results.filter((r) => r.status !== 200).every((r) => r.status === 409)).toBe(true);
        expect(await live(app, user)).toHaveLength(3);
      } finally {
        await app.close();
      }
    });

    it.each([
      [{ max: 0 }, 'sessionLimit.max must be an integer from 1'],
      [{ max: 3, onLimit: 'oldest' }, 'sessionLimit.onLimit must be "evict_oldest" or "refuse"'],
    ])('a bad sessionLimit stops the start: %j', async (sessionLimit, message) => {
      await expect(startBareApp({ session: { sessionLimit: sessionLimit as never } })).rejects.toThrow(message);
    });
  });
});
