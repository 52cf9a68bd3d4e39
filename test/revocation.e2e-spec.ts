import request from 'supertest';
import { SessionService } from 'nest-sessions';
import { startApp, type TestApp } from './support/app';
import { bearerLogin, PASSWORD } from './support/browser';
import { useFakeDate } from './support/clock';

/** On one instance: per-user "not before", and last_seen_at written at most once per interval. */
describe('strict revocation on one instance', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  const whoami = (token: string) => request(t.server).get('/whoami').set('Authorization', `Bearer ${token}`);

  it('revokeIssuedBefore ends the sessions started before the time, in both tokens, and leaves later ones', async () => {
    const clock = useFakeDate();
    try {
      const first = await bearerLogin(t);
      const second = await request(t.server).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email: first.email, password: PASSWORD });
      clock.advance(1_000);
      const notBefore = new Date();
      clock.advance(1_000);
      const later = await request(t.server).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email: first.email, password: PASSWORD });
      for (const token of [first.accessToken, second.body.accessToken, later.body.accessToken]) expect((await whoami(token)).status).toBe(200);

      const revoked = await t.app.get(SessionService).revokeIssuedBefore(first.userId, notBefore);
      expect(revoked).toHaveLength(2);
      expect((await whoami(first.accessToken)).status).toBe(401);
      expect((await whoami(second.body.accessToken)).status).toBe(401);
      expect((await request(t.server).post('/auth/refresh').send({ refreshToken: first.refreshToken })).status).toBe(401);
      expect((await whoami(later.body.accessToken)).status).toBe(200);
      const [row] = await t.dataSource.query(`SELECT revoke_reason FROM auth_sessions WHERE id = $1`, [first.refreshToken.split('.')[0]]);
      expect(row.revoke_reason).toBe('not_before');
    } finally {
      clock.restore();
    }
  });

  it('last_seen_at is written at most once per interval (5 min), never on every request', async () => {
    const clock = useFakeDate();
    try {
      const { accessToken, refreshToken } = await bearerLogin(t);
      const sid = refreshToken.split('.')[0];
      const lastSeen = async () => new Date((await t.dataSource.query(`SELECT last_seen_at FROM auth_sessions WHERE id = $1`, [sid]))[0].last_seen_at).getTime();
      const atLogin = await lastSeen();
      for (let i = 0; i < 5; i++) {
        clock.advance(30_000);
        expect((await whoami(accessToken)).status).toBe(200);
      }
      expect(await lastSeen()).toBe(atLogin); // the first request wrote it at login time already: nothing newer
      clock.advance(5 * 60_000);
      expect((await whoami(accessToken)).status).toBe(200);
      let seen = atLogin;
      for (let i = 0; i < 50 && seen === atLogin; i++) {
        await new Promise((r) => setTimeout(r, 20));
        seen = await lastSeen();
      }
      expect(seen).toBeGreaterThan(atLogin);
      const written = seen;
      clock.advance(60_000);
      expect((await whoami(accessToken)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
      expect(await lastSeen()).toBe(written);
    } finally {
      clock.restore();
    }
  });
});
