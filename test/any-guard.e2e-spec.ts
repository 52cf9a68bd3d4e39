import { Controller, type ExecutionContext, Get, HttpCode, Injectable, Post, UseGuards } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Field, GqlExecutionContext, GraphQLModule, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { Strategy } from 'passport-strategy';
import request from 'supertest';
import { AnyGuard, CsrfGuard, CurrentSession, CurrentUser, Public, SessionGuard, type SessionInfo, type SessionUser } from 'nest-sessions';
import { ADAPTERS, bareLogin, startBareApp, UserAppController } from './support/bare-app';
import { useFakeDate } from './support/clock';

// In a user's app: `AnyGuard` composes SessionGuard with a passport strategy through
// @nestjs/passport's `AuthGuard`, unchanged, on HTTP routes (CsrfGuard bound globally) and on a
// GraphQL resolver, in either order.

const SERVICE_TOKEN = 'svc_' + 'q1W2e3R4t5Y6u7I8o9P0a1S2d3F4g5H6';

/** A minimal header strategy, as a user would write with passport: `x-service-token`. */
class HeaderTokenStrategy extends Strategy {
  constructor(private readonly verify: (token: string, done: (error: unknown, user?: SessionUser | false) => void) => void) {
    super();
  }

  override authenticate(req: { headers: Record<string, unknown> }): void {
    const token = req.headers['x-service-token'];
    if (typeof token !== 'string') return this.fail(401);
    this.verify(token, (error, user) => (error ? this.error(error as Error) : user ? this.success(user) : this.fail(401)));
  }
}

@Injectable()
class ServiceTokenStrategy extends PassportStrategy(HeaderTokenStrategy, 'service-token') {
  validate(token: string): SessionUser | false {
    return token === SERVICE_TOKEN ? { id: 'service:test', roles: ['service'] } : false;
  }
}

/** `AuthGuard('service-token')`, told where a GraphQL resolver's request is (the Nest docs' recipe). */
@Injectable()
class ServiceTokenGuard extends AuthGuard('service-token') {
  override getRequest(context: ExecutionContext) {
    return context.getType<string>() === 'graphql' ? GqlExecutionContext.create(context).getContext().req : context.switchToHttp().getRequest();
  }
}

const via = (session: SessionInfo | undefined) => (session ? session.tokenSource : 'service-token');

@Controller('report')
class ReportController {
  /** The passport guard first: its bare refusal must not hide the session's reason. */
  @Get()
  @UseGuards(AnyGuard(ServiceTokenGuard, SessionGuard))
  read(@CurrentUser() user: SessionUser, @CurrentSession() session?: SessionInfo) {
    return { id: user.id, via: via(session) };
  }

  @Post()
  @HttpCode(201)
  @UseGuards(AnyGuard(SessionGuard, ServiceTokenGuard))
  write(@CurrentUser() user: SessionUser, @CurrentSession() session?: SessionInfo) {
    return { id: user.id, via: via(session) };
  }
}

@ObjectType()
class Report {
  @Field(() => String) id!: string;
  @Field(() => String) via!: string;
}

@Injectable()
@Resolver()
class ReportResolver {
  @Query(() => Report)
  @UseGuards(AnyGuard(SessionGuard, ServiceTokenGuard))
  report(@CurrentUser() user: SessionUser, @CurrentSession() session?: SessionInfo): Report {
    return { id: String(user.id), via: via(session) };
  }
}

describe.each(ADAPTERS)('AnyGuard(SessionGuard, a passport strategy) in a user app on %s', (adapter) => {
  let t: Awaited<ReturnType<typeof startBareApp>>;
  beforeAll(async () => {
    t = await startBareApp({
      adapter,
      imports: [GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true, graphiql: false, includeStacktraceInErrorResponses: false })],
      controllers: [UserAppController, ReportController],
      providers: [ServiceTokenStrategy, ReportResolver, { provide: APP_GUARD, useExisting: CsrfGuard }],
    });
  });
  afterAll(() => t.close());

  const login = async (id: string, transport: 'bearer' | 'cookie') => {
    const { authorization, cookie, csrf } = await bareLogin(t.server, id, transport);
    return { bearer: authorization, cookie, csrf };
  };
  const send = (method: 'get' | 'post', headers: Record<string, string>) => {
    let req = request(t.server)[method]('/report');
    for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
    return req;
  };
  const gql = async (headers: Record<string, string>) => {
    let req = request(t.server).post('/graphql');
    for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
    const res = await req.send({ query: '{ report { id via } }' });
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body)).not.toMatch(/stack|exception/i);
    return res.body as { data: { report: Report } | null; errors?: Array<{ extensions: { code: string } }> };
  };

  it('admits a session (bearer or cookie) or the service token, and the handler sees who', async () => {
    const { bearer } = await login('any-user-1', 'bearer');
    expect((await send('get', { authorization: bearer })).body).toEqual({ id: 'any-user-1', via: 'bearer' });
    const { cookie } = await login('any-user-2', 'cookie');
    expect((await send('get', { cookie })).body).toEqual({ id: 'any-user-2', via: 'cookie' });
    const keyed = await send('get', { 'x-service-token': SERVICE_TOKEN });
    expect({ status: keyed.status, body: keyed.body }).toEqual({ status: 200, body: { id: 'service:test', via: 'service-token' } });
  });

  it('neither: the library\'s UNAUTHENTICATED body, whichever guard comes first; a wrong token too', async () => {
    for (const method of ['get', 'post'] as const) {
      for (const headers of [{}, { 'x-service-token': 'wrong' }] as Array<Record<string, string>>) {
        const res = await send(method, headers);
        expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: { statusCode: 401, code: 'UNAUTHENTICATED', message: expect.any(String) } });
      }
    }
  });

  it("an expired access token answers ACCESS_TOKEN_EXPIRED even behind the passport guard's bare refusal", async () => {
    const { bearer } = await login('any-user-3', 'bearer');
    const clock = useFakeDate();
    try {
      clock.advance(11 * 60_000);
      const res = await send('get', { authorization: bearer });
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code: 'ACCESS_TOKEN_EXPIRED' });
      expect((await gql({ authorization: bearer })).errors?.[0].extensions.code).toBe('ACCESS_TOKEN_EXPIRED');
      expect((await send('get', { authorization: bearer, 'x-service-token': SERVICE_TOKEN })).body).toEqual({ id: 'service:test', via: 'service-token' });
    } finally {
      clock.restore();
    }
  });

  it('CSRF still guards a cookie session on POST; a service token without cookies needs no CSRF token', async () => {
    const { cookie, csrf } = await login('any-user-4', 'cookie');
    const refused = await send('post', { cookie });
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 403, code: 'CSRF_REJECTED' });
    expect((await send('post', { cookie, 'x-csrf-token': csrf })).body).toEqual({ id: 'any-user-4', via: 'cookie' });
    const keyed = await send('post', { 'x-service-token': SERVICE_TOKEN });
    expect({ status: keyed.status, body: keyed.body }).toEqual({ status: 201, body: { id: 'service:test', via: 'service-token' } });
    // A token does not excuse a request that carries the auth cookies from the CSRF check: a
    // browser sends its cookies on any site's request, and the token could be a planted one.
    const both = await send('post', { cookie, 'x-service-token': SERVICE_TOKEN });
    expect({ status: both.status, code: both.body.code }).toEqual({ status: 403, code: 'CSRF_REJECTED' });
  });

  it('on a GraphQL resolver: a session or the service token; neither is extensions.code UNAUTHENTICATED', async () => {
    const { bearer } = await login('any-user-5', 'bearer');
    expect((await gql({ authorization: bearer })).data).toEqual({ report: { id: 'any-user-5', via: 'bearer' } });
    expect((await gql({ 'x-service-token': SERVICE_TOKEN })).data).toEqual({ report: { id: 'service:test', via: 'service-token' } });
    const neither = await gql({ 'x-service-token': 'wrong' });
    expect(neither.data).toBeNull();
    expect(neither.errors?.map((e) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
  });
});

/** docs/getting-started.md's "guard everything by default": SessionGuard bound globally, open routes @Public(). */
@Controller('machine')
class GloballyGuardedController {
  @Get('default')
  sessionOnly(@CurrentUser() user: SessionUser) {
    return { id: user.id };
  }

  /** @Public() exempts it from the global SessionGuard (a key-only request could not pass that one); AnyGuard still authenticates. */
  @Public()
  @Get('report')
  @UseGuards(AnyGuard(SessionGuard, ServiceTokenGuard))
  report(@CurrentUser() user: SessionUser | undefined, @CurrentSession() session?: SessionInfo) {
    return { id: user?.id ?? null, via: via(session) };
  }
}

describe('AnyGuard under a global SessionGuard (open routes marked @Public())', () => {
  let t: Awaited<ReturnType<typeof startBareApp>>;
  beforeAll(async () => {
    t = await startBareApp({
      controllers: [UserAppController, GloballyGuardedController],
      providers: [ServiceTokenStrategy, { provide: APP_GUARD, useExisting: SessionGuard }],
    });
  });
  afterAll(() => t.close());

  it('a @Public() route behind AnyGuard admits a session or the token, and nobody else', async () => {
    const { authorization } = await bareLogin(t.server, 'global-user-1', 'bearer');
    expect((await request(t.server).get('/machine/report').set('Authorization', authorization)).body).toEqual({ id: 'global-user-1', via: 'bearer' });
    const keyed = await request(t.server).get('/machine/report').set('x-service-token', SERVICE_TOKEN);
    expect({ status: keyed.status, body: keyed.body }).toEqual({ status: 200, body: { id: 'service:test', via: 'service-token' } });
    for (const headers of [{}, { 'x-service-token': 'wrong' }] as Array<Record<string, string>>) {
      let req = request(t.server).get('/machine/report');
      for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
      const res = await req;
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    }
    // The global guard still guards everything else: a token alone is not a session.
    expect((await request(t.server).get('/machine/default').set('x-service-token', SERVICE_TOKEN)).status).toBe(401);
    expect((await request(t.server).get('/machine/default').set('Authorization', authorization)).body).toEqual({ id: 'global-user-1' });
  });
});
