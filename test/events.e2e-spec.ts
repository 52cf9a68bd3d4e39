import { Injectable } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import request from 'supertest';
import { SESSION_EVENT_NAMES, SessionEvents, type SessionEvent } from 'nest-sessions';
import { startBareApp } from './support/bare-app';
import { setCookies } from './support/browser';

const cookieHeader = (res: request.Response) => setCookies(res).map((c) => `${c.name}=${c.value}`).join('; ');

/** Issue 10 §4: listeners never undo committed work, fail a request, or kill the process. */
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
});
