import request from 'supertest';
import { DataSource } from 'typeorm';
import { APP_GUARD } from '@nestjs/core';
import { CsrfGuard, SessionGuard, SessionService, SessionStoreUnavailableError } from 'nest-sessions';
import { ADAPTERS, startBareApp } from './support/bare-app';
import { setCookies } from './support/browser';

const REFRESH = '__Secure-ns-rt';

type Started = Awaited<ReturnType<typeof startBareApp>>;
const cookieHeader = (res: request.Response) => setCookies(res).map((c) => `${c.name}=${c.value}`).join('; ');
const cookie = (res: request.Response, name: string) => setCookies(res).find((c) => c.name === name);

/** The library in a user's own app, on Express and on Fastify alike. */
describe.each(ADAPTERS)('the library in a user app on %s', (adapter) => {
  let t: Started;
  beforeAll(async () => {
    t = await startBareApp({ adapter });
  });
  afterAll(() => t.close());

  it('login, guarded request, refresh, logout and logout-all over cookies: no 500, cookies written by the platform', async () => {
    const login = await request(t.server).post('/login').send({ id: 'u-1' });
    expect(login.status).toBe(200);
    expect(login.headers['cache-control']).toBe('no-store');
    expect(setCookies(login).map((c) => c.name).sort()).toEqual(['__Host-ns-at', '__Host-ns-csrf', '__Secure-ns-rt']);
    expect(login.body.accessToken).toBeUndefined();
    const jar = cookieHeader(login);
    expect((await request(t.server).get('/whoami').set('Cookie', jar)).body).toMatchObject({ id: 'u-1', idType: 'string' });

    const refreshed = await request(t.server).post('/auth/refresh').set('Cookie', jar).set('x-csrf-token', login.body.csrfToken);
    expect(refreshed.status).toBe(200);
    expect(cookie(refreshed, REFRESH)?.value).not.toBe(cookie(login, REFRESH)?.value);
    const jar2 = cookieHeader(refreshed);

    const all = await request(t.server).post('/auth/logout-all').set('Cookie', jar2).set('x-csrf-token', refreshed.body.csrfToken);
    expect(all.status).toBe(204);
    expect(setCookies(all).every((c) => c.attributes['max-age'] === '0')).toBe(true);
    expect((await request(t.server).get('/whoami').set('Cookie', jar2)).body.code).toBe('SESSION_REVOKED');

    const again = await request(t.server).post('/login').send({ id: 'u-1' });
    const logout = await request(t.server).post('/auth/logout').set('Cookie', cookieHeader(again)).set('x-csrf-token', again.body.csrfToken);
    expect(logout.status).toBe(204);
    expect(logout.headers['clear-site-data']).toBe('"cookies"');
    expect(setCookies(logout).map((c) => c.name).sort()).toEqual(['__Host-ns-at', '__Host-ns-csrf', '__Secure-ns-rt']);
  });

  it('bearer login and refresh return the tokens in the body', async () => {
    const login = await request(t.server).post('/login').set('X-Session-Transport', 'bearer').send({ id: 'u-2' });
    expect(login.status).toBe(200);
    expect(setCookies(login)).toEqual([]);
    const refreshed = await request(t.server).post('/auth/refresh').send({ refreshToken: login.body.refreshToken });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refreshToken).toEqual(expect.any(String));
    expect((await request(t.server).get('/whoami').set('Authorization', `Bearer ${refreshed.body.accessToken}`)).status).toBe(200);
  });

  it('numeric user ids come back as numbers: in the handler, in loadUser and in the events', async () => {
    const login = await request(t.server).post('/login').set('X-Session-Transport', 'bearer').send({ id: 42 });
    const who = await request(t.server).get('/whoami').set('Authorization', `Bearer ${login.body.accessToken}`);
    expect(who.body).toMatchObject({ id: 42, idType: 'number', sessionUserIdType: 'number' });
    const refreshed = await request(t.server).post('/auth/refresh').send({ refreshToken: login.body.refreshToken });
    const after = await request(t.server).get('/whoami').set('Authorization', `Bearer ${refreshed.body.accessToken}`);
    expect(after.body).toMatchObject({ id: 42, idType: 'number' });
    const listed = await t.app.get(SessionService).listForUser(42);
    expect(listed.map((s) => s.id)).toContain(who.body.sessionId);
  });

  it('a login whose response cannot be written leaves no live session behind', async () => {
    const id = `orphan-${adapter}`;
    const res = await request(t.server).post('/login-broken').send({ id });
    expect(res.status).toBe(500);
    const rows = await t.app.get(DataSource).query(`SELECT revoked_at, revoke_reason FROM auth_sessions WHERE user_id = $1`, [id]);
    expect(rows).toHaveLength(1);
    expect(rows[0].revoke_reason).toBe('not_delivered');
    expect(rows[0].revoked_at).not.toBeNull();
    expect(await t.app.get(SessionService).listForUser(id)).toEqual([]);
  });

  it('login CSRF: @LoginRoute refuses a cross-site login and sets no cookie; same-origin passes', async () => {
    const cross = await request(t.server).post('/login').set('Sec-Fetch-Site', 'cross-site').set('Origin', 'https://evil.example').send({ id: 'u-3' });
    expect(cross.status).toBe(403);
    expect(cross.body.code).toBe('CSRF_REJECTED');
    expect(setCookies(cross)).toEqual([]);
    expect((await request(t.server).post('/login').set('Sec-Fetch-Site', 'same-origin').send({ id: 'u-3' })).status).toBe(200);
  });
});

describe('under a global SessionGuard and CsrfGuard', () => {
  it('@LoginRoute() routes stay open and keep their login-CSRF check; everything else needs a session', async () => {
    const t = await startBareApp({
      providers: [
        { provide: APP_GUARD, useExisting: SessionGuard },
        { provide: APP_GUARD, useExisting: CsrfGuard },
      ],
    });
    try {
      expect((await request(t.server).get('/whoami')).status).toBe(401);
      const login = await request(t.server).post('/login').set('Sec-Fetch-Site', 'same-origin').send({ id: 'global-guard' });
      expect(login.status).toBe(200);
      expect((await request(t.server).get('/whoami').set('Cookie', cookieHeader(login))).status).toBe(200);
      const cross = await request(t.server).post('/login').set('Sec-Fetch-Site', 'cross-site').send({ id: 'global-guard' });
      expect([cross.status, cross.body.code]).toEqual([403, 'CSRF_REJECTED']);
    } finally {
      await t.close();
    }
  });
});

describe('the service layer speaks plain data', () => {
  it('a store failure is a plain SessionStoreUnavailableError from the service and a 503 at the edge', async () => {
    const t = await startBareApp();
    try {
      const login = await request(t.server).post('/login').set('X-Session-Transport', 'bearer').send({ id: 'u-store' });
      await t.app.get(DataSource).destroy();
      const error = await t.app.get(SessionService).listForUser('u-store').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionStoreUnavailableError);
      expect(Object.getPrototypeOf(error).constructor.name).toBe('SessionStoreUnavailableError');
      const refresh = await request(t.server).post('/auth/refresh').send({ refreshToken: login.body.refreshToken });
      expect(refresh.status).toBe(503);
      expect(refresh.body).toEqual({ statusCode: 503, code: 'SERVICE_UNAVAILABLE', message: expect.any(String) });
      expect(JSON.stringify(refresh.body)).not.toMatch(/select|auth_sessions/i);
    } finally {
      await t.close().catch(() => undefined);
    }
  });
});
