import request from 'supertest';
import { Client } from 'pg';
import { startApp, type TestApp } from '../support/app';
import { bearerLogin } from '../support/browser';

/**
 * docs/security.md cases 50 and 51 on the PostgreSQL server: the app fails closed with a 503 when the
 * database is down or hangs, leaks nothing, and recovers without a restart.
 */
describe('database faults', () => {
  let t: TestApp;
  let admin: Client;
  const dbName = new URL(process.env.DATABASE_URL!).pathname.slice(1);

  beforeAll(async () => {
    t = await startApp({ DB_STATEMENT_TIMEOUT: '2', REVOCATION_CACHE_TTL: '1' });
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = '/postgres';
    admin = new Client({ connectionString: url.toString() });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);
    await admin.end();
    await t.close();
  });

  it('case 51: a refresh blocked by a hung lock ends in a 503 within the statement timeout', async () => {
    const { refreshToken } = await bearerLogin(t);
    const sid = refreshToken.split('.')[0];
    const locker = new Client({ connectionString: process.env.DATABASE_URL });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM auth_sessions WHERE id = $1 FOR UPDATE', [sid]);
      const started = Date.now();
      const res = await request(t.server).post('/auth/refresh').send({ refreshToken });
      const took = Date.now() - started;
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ statusCode: 503, code: 'SERVICE_UNAVAILABLE', message: expect.any(String) });
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(took).toBeLessThan(3 * 2_000); // the bound is the 2 s statement timeout, with D15's margin
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    expect((await request(t.server).post('/auth/refresh').send({ refreshToken })).status).toBe(200);
  });

  it('case 50: database down → refresh and strict guard answer 503 with no tokens; service resumes without a restart', async () => {
    const { refreshToken, accessToken } = await bearerLogin(t);
    expect((await request(t.server).get('/me').set('Authorization', `Bearer ${accessToken}`)).status).toBe(200);
    await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS false`);
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [dbName]);
    try {
      const refresh = await request(t.server).post('/auth/refresh').send({ refreshToken });
      expect(refresh.status).toBe(503);
      expect(refresh.body.refreshToken).toBeUndefined();
      expect(refresh.body.accessToken).toBeUndefined();
      expect(refresh.headers['set-cookie']).toBeUndefined();
      expect(JSON.stringify(refresh.body)).not.toMatch(/select|update|auth_sessions|at |Error/i);
      // A session checked within the last cache TTL (1 s here) still passes, as a revocation would;
      // past it, the strict guard needs the database and fails closed.
      await new Promise((r) => setTimeout(r, 1_100));
      const guarded = await request(t.server).get('/whoami').set('Authorization', `Bearer ${accessToken}`);
      expect(guarded.status).toBe(503);
      expect((await request(t.server).get('/health')).status).toBe(503);
    } finally {
      await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);
    }
    // /health also waits for the revocation listener, which reconnects with backoff (up to 10 s).
    let health = 0;
    for (let i = 0; i < 60 && health !== 200; i++) {
      health = (await request(t.server).get('/health')).status;
      if (health !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(health).toBe(200);
    expect((await request(t.server).post('/auth/refresh').send({ refreshToken })).status).toBe(200);
  });

  it('stateless mode does no database work per request: a guarded route answers while the database is down', async () => {
    const stateless = await startApp({ SESSION_REVOCATION: 'stateless' });
    try {
      const { accessToken } = await bearerLogin(stateless);
      await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS false`);
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [dbName]);
      try {
        const res = await request(stateless.server).get('/whoami').set('Authorization', `Bearer ${accessToken}`);
        expect(res.status).toBe(200);
        expect((await request(stateless.server).get('/health')).status).toBe(503);
      } finally {
        await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);
      }
    } finally {
      await stateless.close();
    }
  });
});
