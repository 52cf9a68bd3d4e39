import { getDataSourceToken } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { SessionService, sessionEntities } from 'nest-sessions';
import { defaultDatabase, startBareApp } from './support/bare-app';

const named = (name: string) => defaultDatabase({ name });

/** The store finds the app's data source by injection, a named one included. */
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

  /** The start's error, or null when the app started (and was closed again). */
  async function startError(options: Parameters<typeof startBareApp>[0]): Promise<Error | null> {
    try {
      const t = await startBareApp(options);
      await t.close();
      return null;
    } catch (error) {
      return error as Error;
    }
  }

  it('a data source without the session tables stops the start, naming the data source, the table and the fix', async () => {
    // A schema of its own with no tables, the only one the data source's one connection sees.
    const schema = `ns_empty_${process.pid}_${Date.now()}`;
    const auth = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL, name: 'auth', entities: sessionEntities, poolSize: 1 } as never);
    await auth.initialize();
    try {
      await auth.query(`CREATE SCHEMA ${schema}`);
      await auth.query(`SET search_path TO ${schema}`);
      const error = await startError({ database: [], session: { dataSource: auth } });
      expect(error?.message).toBe(
        'nest-sessions: the data source "auth" has no table auth_sessions: add sessionMigrations to its migrations and run them ' +
          '(migrationsRun: true does at start), and sessionEntities to its entities; or set dataSource to the data source that holds the session tables.',
      );
      // An older migration: the table without a column the latest one added.
      await auth.query(`CREATE TABLE ${schema}.auth_sessions AS SELECT * FROM public.auth_sessions WITH NO DATA`);
      await auth.query(`ALTER TABLE ${schema}.auth_sessions DROP COLUMN persistent`);
      const older = await startError({ database: [], session: { dataSource: auth } });
      expect(older?.message).toContain('the data source "auth" has auth_sessions from an older migration (a column is missing)');
    } finally {
      await auth.query(`SET search_path TO public`);
      await auth.query(`DROP SCHEMA ${schema} CASCADE`);
      await auth.destroy();
    }
  });

  it('a dataSource name no TypeORM data source has stops the start naming dataSource, not Nest\'s "can\'t resolve dependencies"', async () => {
    const error = await startError({ database: [named('sessions')], session: { dataSource: 'sesions' } });
    expect(error?.message).toBe(
      'nest-sessions: dataSource: no TypeORM data source is named "sesions": register it with TypeOrmModule.forRoot({ name: "sesions", … }), or correct dataSource.',
    );
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
