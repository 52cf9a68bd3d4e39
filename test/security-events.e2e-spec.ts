import request from 'supertest';
import { SessionCleanupService } from 'nest-sessions';
import { startApp, type TestApp } from './support/app';
import { ACCESS, Browser, CSRF, PASSWORD, REFRESH, replayAfterGrace, signedInBrowser } from './support/browser';

interface Row {
  event: string;
  sessionId: string | null;
  detail: string | null;
  at: string;
}

/** The sample keeps each user's security events and shows the user their own. */
describe('the sample\'s security events (audit table, GET /me/security-events)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  /** Events are written by listeners after the library's commit: wait until `count` are there. */
  async function eventsOf(browser: Browser, count: number): Promise<Row[]> {
    for (let i = 0; ; i++) {
      const res = await browser.send('get', '/me/security-events');
      expect(res.status).toBe(200);
      if (res.body.length >= count || i > 50) return res.body as Row[];
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('records login, refresh, a failed login, re-authentication, reuse, revocation and expiry for the user, newest first, with no token in any row', async () => {
    const { browser, email } = await signedInBrowser(t);
    const sessionId = browser.get(REFRESH)!.split('.')[0];
    const secrets = [browser.get(ACCESS)!, browser.get(CSRF)!, browser.get(REFRESH)!.split('.')[1]];
    await request(t.server).post('/auth/login').send({ email, password: 'not the password' });
    const firstRefresh = browser.get(REFRESH)!;
    expect((await browser.post('/auth/refresh')).status).toBe(200);
    secrets.push(browser.get(REFRESH)!.split('.')[1], browser.get(ACCESS)!);
    expect((await browser.post('/auth/reauthenticate', { password: PASSWORD })).status).toBe(200);

    // A second device: its refresh token is replayed after the grace window (reuse), which ends it.
    const phone = new Browser(t, 'phone');
    await phone.post('/auth/login', { email, password: PASSWORD });
    const phoneSession = phone.get(REFRESH)!.split('.')[0];
    const phoneFirst = phone.get(REFRESH)!;
    await phone.post('/auth/refresh');
    expect((await replayAfterGrace(t, phoneFirst, phone.csrfToken)).status).toBe(401);
    // A third device whose session runs out unnoticed, found by the cleanup.
    const tablet = new Browser(t, 'tablet');
    await tablet.post('/auth/login', { email, password: PASSWORD });
    const tabletSession = tablet.get(REFRESH)!.split('.')[0];
    await t.dataSource.query(`UPDATE auth_sessions SET expires_at = now() - interval '1 minute' WHERE id = $1`, [tabletSession]);
    await t.app.get(SessionCleanupService).runOnce();
    expect((await browser.post('/auth/logout-others')).status).toBe(204);

    const rows = await eventsOf(browser, 10);
    const has = (event: string, session: string | null, detail: string | null = null) =>
      rows.filter((r) => r.event === event && r.sessionId === session && r.detail === detail).length;
    expect(has('session.issued', sessionId)).toBe(1);
    expect(has('login.failed', null)).toBe(1);
    expect(has('session.refreshed', sessionId)).toBe(1);
    expect(has('session.reauthenticated', sessionId)).toBe(1);
    expect(has('session.issued', phoneSession)).toBe(1);
    expect(has('session.reuse_detected', phoneSession)).toBe(1);
    expect(has('session.revoked', phoneSession, 'reuse_detected')).toBe(1);
    expect(has('session.refresh_failed', phoneSession, 'SESSION_REVOKED')).toBe(1);
    expect(has('session.expired', tabletSession, 'idle_timeout')).toBe(1);
    const times = rows.map((r) => Date.parse(r.at));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    for (const row of rows) expect(Object.keys(row).sort()).toEqual(['at', 'detail', 'event', 'sessionId']);
    const all = JSON.stringify(await t.dataSource.query(`SELECT * FROM security_events`));
    for (const secret of [...secrets, firstRefresh, phoneFirst, PASSWORD]) expect(all).not.toContain(secret);
  });

  it('a user sees only their own events; without a session it is 401', async () => {
    const { browser: a } = await signedInBrowser(t);
    const { browser: b } = await signedInBrowser(t);
    const mine = await eventsOf(a, 1);
    const theirs = await eventsOf(b, 1);
    const aSession = a.get(REFRESH)!.split('.')[0];
    expect(mine.every((r) => r.sessionId === aSession)).toBe(true);
    expect(theirs.some((r) => r.sessionId === aSession)).toBe(false);
    expect((await request(t.server).get('/me/security-events')).status).toBe(401);
  });
});
