import request from 'supertest';
import { startApp, type TestApp } from './support/app';
import { ACCESS, CSRF, PASSWORD, REFRESH, replayAfterGrace, signedInBrowser, uniqueEmail } from './support/browser';

interface AuditLine {
  event: string;
  at: string;
  userId: string | number | null;
  sessionId: string | null;
  [more: string]: unknown;
}

/** docs/security.md case 49: security events are logged with time, user id and session id, never a token. */
describe('the security log (SessionAudit)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  /** The SessionAudit lines logged since `from`, parsed; each must be one JSON object. */
  const auditSince = (from: number): Array<AuditLine & { level: string }> =>
    t.logger.lines
      .slice(from)
      .filter((line) => line.endsWith(' SessionAudit'))
      .map((line) => {
        const [level, ...rest] = line.split(' ');
        return { level, ...(JSON.parse(rest.slice(0, -1).join(' ')) as AuditLine) };
      });

  it('case 49: login success and failure, refresh, refused refresh, reuse, logout, revocation and CSRF failure each leave one line with time, user id and session id', async () => {
    const from = t.logger.lines.length;
    const started = Date.now();
    const { browser, email, userId } = await signedInBrowser(t);
    const sessionId = browser.get(REFRESH)!.split('.')[0];
    const firstRefreshToken = browser.get(REFRESH)!;
    await request(t.server).post('/auth/login').send({ email, password: 'wrong password' });
    await request(t.server).post('/auth/login').send({ email: uniqueEmail('nobody'), password: PASSWORD });
    expect((await browser.post('/auth/refresh')).status).toBe(200);
    expect((await request(t.server).post('/auth/refresh').send({ refreshToken: 'not-a-token' })).status).toBe(401);
    expect((await browser.send('post', '/notes', { body: { text: 'x' }, csrf: false })).status).toBe(403);
    expect((await replayAfterGrace(t, firstRefreshToken, browser.csrfToken)).status).toBe(401);
    const { browser: second, userId: secondUser } = await signedInBrowser(t);
    const secondSession = second.get(REFRESH)!.split('.')[0];
    expect((await second.post('/auth/logout', undefined, { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    expect((await second.post('/auth/logout')).status).toBe(204);
    // Without cookies the guard lets logout through, and the route refuses another site itself.
    expect((await request(t.server).post('/auth/logout').set('Sec-Fetch-Site', 'cross-site')).status).toBe(403);

    const lines = auditSince(from);
    const find = (event: string, match: Partial<AuditLine> = {}) =>
      lines.filter((l) => l.event === event && Object.entries(match).every(([k, v]) => l[k] === v));
    expect(find('session.issued', { userId, sessionId })).toHaveLength(1);
    expect(find('login.failed', { userId, sessionId: null })).toHaveLength(1);
    expect(find('login.failed', { userId: null, sessionId: null })).toHaveLength(1);
    expect(find('session.refreshed', { userId, sessionId })).toHaveLength(1);
    expect(find('session.refresh_failed', { userId: null, sessionId: null, code: 'UNAUTHENTICATED' })).toHaveLength(1);
    expect(find('session.csrf_rejected', { sessionId, route: 'NotesController.create' })).toHaveLength(1);
    expect(find('session.csrf_rejected', { sessionId: secondSession, route: 'SessionController.logout' })).toHaveLength(1);
    expect(find('session.csrf_rejected', { sessionId: null, route: 'SessionController.logout' })).toHaveLength(1);
    expect(find('session.reuse_detected', { userId, sessionId })).toHaveLength(1);
    expect(find('session.revoked', { userId, sessionId, reason: 'reuse_detected' })).toHaveLength(1);
    expect(find('session.refresh_failed', { userId, sessionId, code: 'SESSION_REVOKED' })).toHaveLength(1);
    expect(find('session.revoked', { userId: secondUser, sessionId: secondSession, reason: 'logout' })).toHaveLength(1);
    // Failures and reuse are warnings; the rest is information.
    for (const line of lines) {
      const warn = ['login.failed', 'session.refresh_failed', 'session.csrf_rejected', 'session.reuse_detected'].includes(line.event);
      expect([line.event, line.level]).toEqual([line.event, warn ? 'warn' : 'log']);
      expect(Date.parse(line.at)).toBeGreaterThanOrEqual(started - 1_000);
    }
    // Ids and codes only: no value from a cookie, a header or a body.
    const text = JSON.stringify(lines);
    for (const value of [browser.get(ACCESS), browser.get(CSRF), browser.csrfToken, firstRefreshToken.split('.')[1], email, PASSWORD]) {
      expect(text).not.toContain(value);
    }
  });

  it('auditLog: false turns the lines off (the events still reach listeners)', async () => {
    const quiet = await startApp({ SESSION_AUDIT_LOG: 'false' });
    try {
      const from = quiet.logger.lines.length;
      await signedInBrowser(quiet);
      expect(quiet.logger.lines.slice(from).filter((l) => l.includes('"event":"session.'))).toEqual([]);
    } finally {
      await quiet.close();
    }
  });
});
