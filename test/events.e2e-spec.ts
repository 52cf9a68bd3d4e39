import { Injectable } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import request from 'supertest';
import { SESSION_EVENT_NAMES, SessionEvents, type SessionEvent } from 'nest-sessions';
import { startBareApp } from './support/bare-app';
import { REFRESH, setCookies } from './support/browser';
import { useFakeDate } from './support/clock';

const cookieHeader = (res: request.Response) => setCookies(res).map((c) => `${c.name}=${c.value}`).join('; ');

/** Listeners never undo committed work, fail a request, or kill the process. */
describe('session events', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => process.on('unhandledRejection', onUnhandled));
  afterAll(() => process.off('unhandledRejection', onUnhandled));

  it.each([
    ['throws', () => { throw new Error('listener bug'); }],
    ['rejects', async () => { throw new Error('async listener bug'); }],
  ])('a listener that %s on issued, refreshed and revoked is logged; the requests answer as if it were absent', async (_label, listener) => {
    const t = await startBareApp();
    try {
      const events = t.app.get(SessionEvents);
      const seen: string[] = [];
      for (const name of ['issued', 'refreshed', 'revoked'] as const) {
        events.on(name, listener as never);
        events.on(name, () => void seen.push(name)); // a later listener still runs
      }
      const login = await request(t.server).post('/login').send({ id: 'listener-user' });
      expect(login.status).toBe(200);
      const refreshed = await request(t.server).post('/auth/refresh').set('Cookie', cookieHeader(login)).set('x-csrf-token', login.body.csrfToken);
      expect(refreshed.status).toBe(200);
      // The rotation stands: the new cookie refreshes again; the old one is a grace hit, not reuse.
      const jar = cookieHeader(refreshed);
      expect((await request(t.server).get('/whoami').set('Cookie', jar)).status).toBe(200);
      const logout = await request(t.server).post('/auth/logout').set('Cookie', jar).set('x-csrf-token', refreshed.body.csrfToken);
      expect(logout.status).toBe(204);
      expect((await request(t.server).get('/whoami').set('Cookie', jar)).body.code).toBe('SESSION_REVOKED');
      await new Promise((r) => setImmediate(r));
      expect(seen).toEqual(['issued', 'refreshed', 'revoked']);
      for (const name of ['issued', 'refreshed', 'revoked']) {
        expect(t.logger.lines.some((l) => l.includes(`a "${name}" listener failed (Error)`))).toBe(true);
      }
      expect(t.logger.lines.join('\n')).not.toContain('listener bug');
      expect(unhandled).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('with @nestjs/event-emitter, the events arrive under their documented names', async () => {
    const received: Array<[string, SessionEvent]> = [];
    @Injectable()
    class Audit {
      @OnEvent(SESSION_EVENT_NAMES.issued) issued(e: SessionEvent) { received.push(['session.issued', e]); }
      @OnEvent(SESSION_EVENT_NAMES.revoked) revoked(e: SessionEvent) { received.push(['session.revoked', e]); }
      @OnEvent(SESSION_EVENT_NAMES.refreshed) refreshed() { throw new Error('audit down'); }
    }
    const t = await startBareApp({ imports: [EventEmitterModule.forRoot()], providers: [Audit] });
    try {
      const login = await request(t.server).post('/login').set('X-Session-Transport', 'bearer').send({ id: 7 });
      const refreshed = await request(t.server).post('/auth/refresh').send({ refreshToken: login.body.refreshToken });
      expect(refreshed.status).toBe(200);
      await request(t.server).post('/auth/logout').send({ refreshToken: refreshed.body.refreshToken });
      await new Promise((r) => setImmediate(r));
      expect(received.map(([name]) => name)).toEqual(['session.issued', 'session.revoked']);
      expect(received[0][1]).toMatchObject({ userId: 7, sessionId: expect.any(String) });
      expect(unhandled).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('case 19: reuse_detected fires exactly once, with the session id and user id and no token, when a rotated refresh token is replayed after the grace window', async () => {
    const t = await startBareApp();
    const clock = useFakeDate();
    try {
      const reuse: SessionEvent[] = [];
      t.app.get(SessionEvents).on('reuse_detected', (e) => void reuse.push(e));
      const login = await request(t.server).post('/login').send({ id: 4242 });
      expect(login.status).toBe(200);
      const refreshed = await request(t.server).post('/auth/refresh').set('Cookie', cookieHeader(login)).set('x-csrf-token', login.body.csrfToken);
      expect(refreshed.status).toBe(200);
      const tokens = [...setCookies(login), ...setCookies(refreshed)].map((c) => c.value).filter((v) => v.length > 0);
      const [sessionId] = setCookies(login).find((c) => c.name === REFRESH)!.value.split('.');
      // Inside the grace window the old token is a parallel tab, not reuse: no event yet.
      expect((await request(t.server).post('/auth/refresh').set('Cookie', cookieHeader(login)).set('x-csrf-token', login.body.csrfToken)).status).toBe(200);
      expect(reuse).toEqual([]);

      clock.advance(11_000);
      for (let i = 0; i < 2; i++) {
        const replay = await request(t.server).post('/auth/refresh').set('Cookie', cookieHeader(login)).set('x-csrf-token', login.body.csrfToken);
        expect([replay.status, replay.body.code]).toEqual([401, 'SESSION_REVOKED']);
      }
      // The newer token now finds a revoked session: that is not a second reuse.
      expect((await request(t.server).post('/auth/refresh').set('Cookie', cookieHeader(refreshed)).set('x-csrf-token', refreshed.body.csrfToken)).status).toBe(401);
      await new Promise((r) => setImmediate(r));

      expect(reuse).toHaveLength(1);
      // Exact keys: a listener forwarding the event to alerting must never receive a secret.
      expect(Object.keys(reuse[0]).sort()).toEqual(['at', 'sessionId', 'userId']);
      expect(reuse[0]).toMatchObject({ sessionId, userId: 4242 });
      expect(reuse[0].at.getTime()).toBe(Date.now());
      const text = JSON.stringify(reuse[0]);
      for (const token of tokens) expect(text).not.toContain(token.includes('.') ? token.split('.').pop()! : token);
    } finally {
      clock.restore();
      await t.close();
    }
  });
});
