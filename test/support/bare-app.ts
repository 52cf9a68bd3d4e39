import { Body, Controller, Get, HttpCode, Module, Post, Req, Res, UseGuards, type DynamicModule, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import request from 'supertest';
import {
  CsrfGuard,
  CurrentSession,
  CurrentUser,
  LoginRoute,
  sessionEntities,
  SessionGuard,
  SessionHttp,
  SessionModule,
  sessionMigrations,
  type SessionInfo,
  type SessionModuleExtras,
  type SessionModuleOptions,
  type SessionUser,
  type UserId,
} from 'nest-sessions';
import { CapturingLogger, closingOnFailure } from './app';

export type Adapter = 'express' | 'fastify';
export const ADAPTERS: Adapter[] = ['express', 'fastify'];

/** A user's app, written from docs/getting-started.md: its own login route, a guarded route, a CSRF-guarded one. */
@Controller()
export class UserAppController {
  constructor(private readonly sessionHttp: SessionHttp) {}

  @Post('login')
  @LoginRoute()
  @HttpCode(200)
  login(@Req() req: object, @Res({ passthrough: true }) res: object, @Body() body: { id: UserId }) {
    return this.sessionHttp.login(req as never, res, { id: body.id, roles: ['reader'] });
  }

  /** A login whose response cannot carry the session (as when a platform refuses the write). */
  @Post('login-broken')
  @LoginRoute()
  @HttpCode(200)
  loginBroken(@Req() req: object, @Body() body: { id: UserId }) {
    return this.sessionHttp.login(req as never, {}, { id: body.id, roles: [] });
  }

  @Get('whoami')
  @UseGuards(SessionGuard)
  whoami(@CurrentUser() user: SessionUser<UserId>, @CurrentSession() session: SessionInfo<UserId>) {
    return { id: user.id, idType: typeof user.id, sessionId: session.id, sessionUserIdType: typeof session.userId };
  }

  @Post('notes')
  @UseGuards(SessionGuard, CsrfGuard)
  @HttpCode(201)
  note() {
    return { ok: true };
  }
}

export const secrets = () => ({ jwtSecret: randomBytes(32), sessionSecret: randomBytes(32) });

export interface BareAppOptions {
  adapter?: Adapter;
  session?: Partial<SessionModuleOptions> & SessionModuleExtras;
  /** TypeORM modules to import instead of the default data source. */
  database?: DynamicModule[];
  imports?: Array<DynamicModule | Type<unknown>>;
  controllers?: Type<unknown>[];
  providers?: unknown[];
  globalPrefix?: string;
  trustProxy?: boolean;
  configure?: (app: INestApplication) => void;
}

export const defaultDatabase = (extra: Record<string, unknown> = {}) =>
  TypeOrmModule.forRoot({
    type: 'postgres',
    url: process.env.DATABASE_URL,
    entities: sessionEntities,
    migrations: sessionMigrations,
    migrationsRun: true,
    logging: false,
    poolSize: Number(process.env.DATABASE_POOL_SIZE ?? 10),
    ...extra,
  } as never);

/** Boots a bare app the way a user would: NestFactory, the adapter of their choice, listen. */
export async function startBareApp(options: BareAppOptions = {}) {
  const logger = new CapturingLogger();
  const { dataSource, routePrefix, controller, ...sessionOptions } = options.session ?? {};
  @Module({
    imports: [
      ...(options.database ?? [defaultDatabase()]),
      SessionModule.forRoot({
        ...secrets(),
        loadUser: (id: UserId) => ({ id, roles: ['reader'] }),
        revocation: { bus: 'none' },
        ...sessionOptions,
        ...(dataSource !== undefined ? { dataSource } : {}),
        ...(routePrefix !== undefined ? { routePrefix } : {}),
        ...(controller !== undefined ? { controller } : {}),
      } as never),
      ...(options.imports ?? []),
    ],
    controllers: options.controllers ?? [UserAppController],
    providers: (options.providers ?? []) as never,
  })
  class UserAppModule {}

  const adapter = options.adapter ?? 'express';
  const httpAdapter = adapter === 'fastify' ? new FastifyAdapter({ trustProxy: options.trustProxy ?? false }) : new ExpressAdapter();
  const app = await closingOnFailure(() => NestFactory.create(UserAppModule, httpAdapter as never, { logger, abortOnError: false }));
  if (adapter === 'express' && options.trustProxy) (app as unknown as { set(k: string, v: unknown): void }).set('trust proxy', true);
  if (options.globalPrefix) app.setGlobalPrefix(options.globalPrefix);
  options.configure?.(app);
  await app.init().catch(async (error: unknown) => {
    await app.close().catch(() => undefined);
    throw error;
  });
  if (adapter === 'fastify') await (app.getHttpAdapter().getInstance() as { ready(): Promise<void> }).ready();
  await app.listen(0, '127.0.0.1');
  return { app, logger, server: app.getHttpServer(), close: () => app.close() };
}

/**
 * Logs `id` in through the bare app's `POST /login` (`UserAppController`), by cookie or bearer;
 * returns what a client then sends: the `Authorization` header, the `Cookie` header and the CSRF token.
 */
export async function bareLogin(server: Server, id: string, transport: 'bearer' | 'cookie'): Promise<{ authorization: string; cookie: string; csrf: string }> {
  let req = request(server).post('/login');
  if (transport === 'bearer') req = req.set('X-Session-Transport', 'bearer');
  const res = await req.send({ id });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  const cookie = ((res.headers['set-cookie'] as unknown as string[] | undefined) ?? []).map((c) => c.split(';')[0]).join('; ');
  return { authorization: `Bearer ${res.body.accessToken as string}`, cookie, csrf: res.body.csrfToken as string };
}
