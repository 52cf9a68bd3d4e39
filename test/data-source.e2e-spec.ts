import { getDataSourceToken } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { SessionService } from 'nest-sessions';
import { defaultDatabase, startBareApp } from './support/bare-app';

const named = (name: string) => defaultDatabase({ name });

/** Issue 10 §3: the store finds the app's data source by injection, a named one included. */
describe('the session store and the app\'s data source', () => {
  it('a named data source alone: the app starts and sessions work', async () => {
    const t = await startBareApp({ database: [named('sessions')], session: { dataSource: 'sessions' } });
    try {
      const login = await request(t.server).post('/login').set('X-Session-Transport', 'bearer').send({ id: 'named-1' });
      expect(login.status).toBe(200);
      expect((await request(t.server).get('/whoami').set('Authorization', `Bearer ${login.body.accessToken}`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('a default and a named data source: session queries go to the named one', async () => {
    // The default one is never connected: a session query sent there would fail with a 503.
    const t = await startBareApp({ database: [defaultDatabase({ manualInitialization: true, migrationsRun: false }), named('auth')], session: { dataSource: 'auth' } });
    try {
      expect(t.app.get(DataSource).isInitialized).toBe(false);
      const login = await request(t.server).post('/login').set('X-Session-Transport', 'bearer').send({ id: 'named-2' });
      expect(login.status).toBe(200);
      const refreshed = await request(t.server).post('/auth/refresh').send({ refreshToken: login.body.refreshToken });
      expect(refreshed.status).toBe(200);
      const auth = t.app.get<DataSource>(getDataSourceToken('auth'));
      const rows = await auth.query(`SELECT generation FROM auth_sessions WHERE user_id = 'named-2'`);
      expect(rows).toEqual([{ generation: 1 }]);
      expect(await t.app.get(SessionService).listForUser('named-2')).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it('after the migrations, TypeORM\'s schema diff proposes nothing (migration:generate stays clean)', async () => {
    const t = await startBareApp();
    try {
      const sql = await t.app.get(DataSource).driver.createSchemaBuilder().log();
      expect(sql.upQueries.map((q) => q.query)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
