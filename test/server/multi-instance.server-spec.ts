import request from 'supertest';
import { startAppProcess, type AppProcess } from '../support/processes';
import { ACCESS, CSRF, PASSWORD, REFRESH, setCookies, uniqueEmail } from '../support/browser';

/**
 * Several app processes on one PostgreSQL server share nothing but the database: a session made
 * on one instance refreshes on another, and in strict mode a revocation made on one instance is
 * refused at once by the others (each checks the session row).
 */
describe('three app processes on one PostgreSQL server (strict revocation)', () => {
  let a: AppProcess;
  let b: AppProcess;
  let c: AppProcess;

  beforeAll(async () => {
    [a, b, c] = await Promise.all([startAppProcess(), startAppProcess(), startAppProcess()]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([a, b, c].filter(Boolean).map((p) => p.stop()));
  });

  const cookiesOf = (res: request.Response) => Object.fromEntries(setCookies(res).map((x) => [x.name, x.value]));

  it('log in through A, refresh through B, revoke through B: C accepts before and refuses right after', async () => {
    const email = uniqueEmail('multi');
    expect((await request(a.url).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201);
    const login = await request(a.url).post('/auth/login').send({ email, password: PASSWORD });
    expect(login.status).toBe(200);
    let jar = cookiesOf(login);

    const refreshed = await request(b.url)
      .post('/auth/refresh')
      .set('Cookie', `${REFRESH}=${jar[REFRESH]}`)
      .set('x-csrf-token', jar[CSRF]);
    expect(refreshed.status).toBe(200);
    jar = { ...jar, ...cookiesOf(refreshed) };

    // First prove C accepts the token, so that the refusal below means something (D3).
    expect((await request(c.url).get('/me').set('Cookie', `${ACCESS}=${jar[ACCESS]}`)).status).toBe(200);

    const logout = await request(b.url)
      .post('/auth/logout')
      .set('Cookie', `${REFRESH}=${jar[REFRESH]}; ${ACCESS}=${jar[ACCESS]}`)
      .set('x-csrf-token', jar[CSRF]);
    expect(logout.status).toBe(204);
    const revokedAt = Date.now();
    const res = await request(c.url).get('/me').set('Cookie', `${ACCESS}=${jar[ACCESS]}`);
    const delay = Date.now() - revokedAt;
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('SESSION_REVOKED');
    console.log(`[multi-instance] revocation on B refused on C after ${delay} ms (strict mode, row check)`);
    expect((await request(a.url).get('/me').set('Cookie', `${ACCESS}=${jar[ACCESS]}`)).status).toBe(401);
  });

  it('logout-all on A ends sessions made on B and C', async () => {
    const email = uniqueEmail('multi-all');
    await request(a.url).post('/auth/register').send({ email, password: PASSWORD });
    const onB = await request(b.url).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
    const onC = await request(c.url).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
    expect((await request(a.url).get('/me').set('Authorization', `Bearer ${onC.body.accessToken}`)).status).toBe(200);
    expect((await request(a.url).post('/auth/logout-all').set('Authorization', `Bearer ${onB.body.accessToken}`)).status).toBe(204);
    for (const instance of [a, b, c]) {
      expect((await request(instance.url).get('/me').set('Authorization', `Bearer ${onC.body.accessToken}`)).status).toBe(401);
    }
    expect((await request(c.url).post('/auth/refresh').send({ refreshToken: onC.body.refreshToken })).status).toBe(401);
  });
});
