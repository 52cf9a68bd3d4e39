import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  SessionModule,
  SessionHttp,
  SessionService,
  type SessionModuleOptions,
  type SessionOptionsFactory,
} from 'nest-sessions';
import { CapturingLogger, listenForTests } from './support/app';
import { defaultDatabase } from './support/bare-app';
import { REFRESH } from './support/browser';

const secrets = { jwtSecret: randomBytes(32), sessionSecret: randomBytes(32) };
const loadUser = (id: string) => ({ id, roles: ['reader'] });

@Injectable()
class OptionsFactory implements SessionOptionsFactory {
  createSessionOptions(): SessionModuleOptions {
    return { ...secrets, loadUser, revocation: { bus: 'none' } };
  }
}

@Module({ providers: [OptionsFactory], exports: [OptionsFactory] })
class OptionsModule {}

const database = () => defaultDatabase();

/** Boots a bare app: the app's TypeORM connection and SessionModule, no ScheduleModule, no global guard. */
async function boot(session: DynamicModule) {
  const logger = new CapturingLogger();
  const moduleRef = await Test.createTestingModule({ imports: [database(), session] }).setLogger(logger).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ logger });
  await listenForTests(app);
  return { app, logger, server: app.getHttpServer() };
}

/** The library used the way docs/getting-started.md shows, without the sample app. */
describe('SessionModule wiring', () => {
  it('forRoot: programmatic issue, validateAccessToken, bearer refresh, and a warning without ScheduleModule', async () => {
    const { app, logger, server } = await boot(SessionModule.forRoot({ ...secrets, loadUser, revocation: { bus: 'none' } }));
    try {
      expect(logger.lines.some((l) => l.includes('ScheduleModule.forRoot() is not imported'))).toBe(true);
      const sessions = app.get(SessionService);
      const grant = await sessions.issue({ id: `user-${randomUUID()}`, roles: [] }, { transport: 'bearer' });
      expect(grant.refreshToken).toEqual(expect.any(String));
      const validated = await sessions.validateAccessToken(grant.accessToken!);
      expect(validated.session.id).toBe(grant.sessionId);
      const res = await request(server).post('/auth/refresh').send({ refreshToken: grant.refreshToken });
      expect(res.status).toBe(200);
      // Roles come from loadUser at refresh.
      expect((await sessions.validateAccessToken(res.body.accessToken)).user.roles).toEqual(['reader']);
    } finally {
      await app.close();
    }
  });

  it('the library routes enforce CSRF on cookie requests even when the app binds no global guard', async () => {
    const { app, server } = await boot(SessionModule.forRoot({ ...secrets, loadUser, revocation: { bus: 'none' } }));
    try {
      const grant = await app.get(SessionService).issue({ id: `user-${randomUUID()}`, roles: [] }, { transport: 'cookie' });
      const cookie = `${REFRESH}=${grant.refreshToken}`;
      const refused = await request(server).post('/auth/refresh').set('Cookie', cookie);
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('CSRF_REJECTED');
      const ok = await request(server).post('/auth/refresh').set('Cookie', cookie).set('x-csrf-token', grant.csrfToken);
      expect(ok.status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it.each<[string, () => DynamicModule]>([
    ['useFactory', () => SessionModule.forRootAsync({ useFactory: () => ({ ...secrets, loadUser, revocation: { bus: 'none' } }) })],
    ['useClass', () => SessionModule.forRootAsync({ useClass: OptionsFactory })],
    ['useExisting', () => SessionModule.forRootAsync({ imports: [OptionsModule], useExisting: OptionsFactory })],
  ])('forRootAsync with %s', async (_label, make) => {
    const { app } = await boot(make());
    try {
      const grant = await app.get(SessionService).issue({ id: 7, roles: [] }, { transport: 'bearer' });
      expect((await app.get(SessionService).validateAccessToken(grant.accessToken)).user.id).toBe(7);
    } finally {
      await app.close();
    }
  });

  it('routePrefix moves the controller; controller: false leaves it out', async () => {
    const moved = await boot(SessionModule.forRoot({ ...secrets, loadUser, revocation: { bus: 'none' }, routePrefix: 'session' }));
    try {
      expect((await request(moved.server).post('/session/refresh').send({ refreshToken: 'x' })).status).toBe(401);
      expect((await request(moved.server).post('/auth/refresh').send({ refreshToken: 'x' })).status).toBe(404);
      expect(moved.app.get(SessionHttp).refreshCookiePath).toBe('/session');
    } finally {
      await moved.app.close();
    }
    const none = await boot(SessionModule.forRoot({ ...secrets, loadUser, revocation: { bus: 'none' }, controller: false }));
    try {
      expect((await request(none.server).post('/auth/refresh').send({ refreshToken: 'x' })).status).toBe(404);
    } finally {
      await none.app.close();
    }
  });

});
