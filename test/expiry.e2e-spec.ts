import request from 'supertest';
import { startApp, type TestApp } from './support/app';
import { ACCESS, signedInBrowser } from './support/browser';
import { useFakeDate } from './support/clock';

/** docs/security.md cases 6, 24, 25, 26: the server's clock and the session row decide every expiry. */
describe('idle timeout and absolute lifetime (short lifetimes, moved clock)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ ACCESS_TOKEN_TTL: '5m', SESSION_IDLE_TIMEOUT: '1h', SESSION_ABSOLUTE_TIMEOUT: '3h' });
  });
  afterAll(() => t.close());

  const MIN = 60_000;

  it('case 6: an access token past exp answers ACCESS_TOKEN_EXPIRED; a refresh brings the user back', async () => {
    const clock = useFakeDate();
    try {
      const { browser } = await signedInBrowser(t);
      clock.advance(5 * MIN + 10_000);
      const me = await browser.send('get', '/me');
      expect(me.status).toBe(401);
      expect(me.body.code).toBe('ACCESS_TOKEN_EXPIRED');
      expect((await browser.post('/auth/refresh')).status).toBe(200);
      expect((await browser.send('get', '/me')).status).toBe(200);
    } finally {
      clock.restore();
    }
  });

  it('case 6: a token SessionGuard has already verified, and answers from its cache, still expires at exp + skew (5 s)', async () => {
    const clock = useFakeDate();
    try {
      const { browser } = await signedInBrowser(t);
      // The first request verifies the token through passport; the guard caches it, so the later
      // ones are judged by the cache's own expiry check, which no uncached request reaches.
      expect((await browser.send('get', '/me')).status).toBe(200);
      clock.advance(5 * MIN + 2_000);
      expect((await browser.send('get', '/me')).status).toBe(200);
      clock.advance(5_000);
      const me = await browser.send('get', '/me');
      expect([me.status, me.body.code]).toEqual([401, 'ACCESS_TOKEN_EXPIRED']);
    } finally {
      clock.restore();
    }
  });

  it('case 24: a refresh token unused longer than the idle timeout is refused and the session closed', async () => {
    const clock = useFakeDate();
    try {
      const { browser } = await signedInBrowser(t);
      const sid = (await browser.send('get', '/me')).body.sessionId;
      clock.advance(59 * MIN);
      expect((await browser.post('/auth/refresh')).status).toBe(200); // activity moves the idle expiry
      clock.advance(59 * MIN);
      expect((await browser.post('/auth/refresh')).status).toBe(200);
      clock.advance(61 * MIN);
      const res = await browser.post('/auth/refresh');
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('REAUTHENTICATION_REQUIRED');
      const [row] = await t.dataSource.query(`SELECT revoked_at, revoke_reason FROM auth_sessions WHERE id = $1`, [sid]);
      expect(row.revoke_reason).toBe('idle_timeout');
    } finally {
      clock.restore();
    }
  });

  it('case 25: refreshing every 50 minutes never carries a session past its absolute lifetime', async () => {
    const clock = useFakeDate();
    try {
      const { browser } = await signedInBrowser(t);
      const start = Date.now();
      let last = 200;
      while (last === 200 && Date.now() - start < 4 * 60 * MIN) {
        clock.advance(50 * MIN);
        const res = await browser.post('/auth/refresh');
        last = res.status;
        if (res.status === 200) {
          expect(new Date(res.body.accessTokenExpiresAt).getTime()).toBeLessThanOrEqual(start + 3 * 60 * MIN);
        } else {
          expect(res.body.code).toBe('REAUTHENTICATION_REQUIRED');
        }
      }
      expect(last).toBe(401);
      expect(Date.now() - start).toBeGreaterThanOrEqual(3 * 60 * MIN);
      expect(Date.now() - start).toBeLessThan(3 * 60 * MIN + 50 * MIN + 1);
      // The access token issued last ends at the absolute expiry, not 5 minutes after it.
      const me = await browser.send('get', '/me');
      expect(me.status).toBe(401);
    } finally {
      clock.restore();
    }
  });

  it('case 26: a cookie replayed after its Max-Age, or with edited expiry, is still judged by the server', async () => {
    const clock = useFakeDate();
    try {
      const { browser } = await signedInBrowser(t);
      const at = browser.get(ACCESS)!;
      clock.advance(61 * MIN);
      // A client that ignores Max-Age and keeps sending the cookies gets nothing from them.
      expect((await request(t.server).get('/me').set('Cookie', `${ACCESS}=${at}`)).status).toBe(401);
      expect((await browser.post('/auth/refresh')).status).toBe(401);
    } finally {
      clock.restore();
    }
  });
});
