import { Injectable, UseGuards } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { Field, GraphQLModule, ID, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import request from 'supertest';
import { CsrfGuard, CurrentSession, CurrentUser, Public, RequireFreshSession, Roles, RolesGuard, SessionGuard, type SessionInfo, type SessionUser } from 'nest-sessions';
import { startApp, type TestApp } from './support/app';
import { ADAPTERS, bareLogin, startBareApp } from './support/bare-app';
import { ACCESS, bearerLogin, Browser, signedInBrowser, uniqueEmail } from './support/browser';
import { useFakeDate } from './support/clock';

// GraphQL at POST /graphql (Apollo on Express and on Fastify) with `me`, `notes`
// and `addNote(text)`, behind the library's guards and decorators, in both transports; failures
// are GraphQL errors whose extensions.code is the library's stable code.

const ME = '{ me { id email roles sessionId } }';
const NOTES = '{ notes { id text createdAt } }';
const ADD_NOTE = 'mutation Add($text: String!) { addNote(text: $text) { id text createdAt } }';

type GqlBody = { data?: Record<string, unknown> | null; errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }> };

/** The session id (`sid`) of an access token, read from its payload. */
const sidOf = (token: string): string => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sid;

/** Every GraphQL answer: never a 500, never a stack trace or the original exception. */
function checked(res: request.Response): request.Response & { body: GqlBody } {
  expect(res.status).not.toBe(500);
  expect(res.headers['content-type']).toMatch(/application\/(graphql-response\+)?json/);
  const text = JSON.stringify(res.body);
  expect(text).not.toMatch(/stack/i);
  expect(text).not.toMatch(/originalError|exception/i);
  return res as request.Response & { body: GqlBody };
}

/** The single error's code, after checking the answer is a GraphQL error (200, data null, one error). */
function errorCode(res: request.Response & { body: GqlBody }): unknown {
  expect(res.status).toBe(200);
  expect(res.body.errors).toHaveLength(1);
  expect(res.body.data ?? null).toBeNull();
  const extensions = res.body.errors![0].extensions!;
  expect(Object.keys(extensions).sort()).toEqual(['code', 'statusCode']);
  return extensions.code;
}

describe.each(ADAPTERS)('GraphQL on %s', (adapter) => {
  let t: TestApp;
  const adminEmail = uniqueEmail('gql-admin');
  beforeAll(async () => {
    t = await startApp({ HTTP_ADAPTER: adapter, ADMIN_EMAILS: adminEmail });
  });
  afterAll(() => t.close());

  const bearer = async (token: string | null, query: string, variables?: object) => {
    let req = request(t.server).post('/graphql').set('Content-Type', 'application/json');
    if (token) req = req.set('Authorization', `Bearer ${token}`);
    return checked(await req.send({ query, variables }));
  };
  const cookie = async (browser: Browser, query: string, variables?: object, options: { csrf?: boolean; headers?: Record<string, string> } = {}) =>
    checked(await browser.send('post', '/graphql', { body: { query, variables }, ...options }));

  it('runs on the adapter the test asked for', () => {
    expect(t.adapter).toBe(adapter);
  });

  it('bearer: me, notes and addNote (no CSRF token needed)', async () => {
    const { accessToken, email, userId } = await bearerLogin(t);
    const me = await bearer(accessToken, ME);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ data: { me: { id: userId, email, roles: [], sessionId: sidOf(accessToken) } } });
    expect((await bearer(accessToken, NOTES)).body).toEqual({ data: { notes: [] } });
    const added = await bearer(accessToken, ADD_NOTE, { text: 'from bearer' });
    expect(added.body.errors).toBeUndefined();
    expect(added.body.data!.addNote).toEqual({ id: expect.any(String), text: 'from bearer', createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) });
    const notes = await bearer(accessToken, NOTES);
    expect(notes.body.data!.notes).toEqual([added.body.data!.addNote]);
    // The same table as the REST route.
    const rest = await request(t.server).get('/notes').set('Authorization', `Bearer ${accessToken}`);
    expect(rest.body).toEqual([added.body.data!.addNote]);
  });

  it('cookie: me and notes, and addNote with the x-csrf-token header', async () => {
    const { browser, email, userId } = await signedInBrowser(t);
    const me = await cookie(browser, ME);
    expect(me.body.data!.me).toEqual({ id: userId, email, roles: [], sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const added = await cookie(browser, ADD_NOTE, { text: 'from a browser' });
    expect(added.body.errors).toBeUndefined();
    expect(added.body.data!.addNote).toMatchObject({ text: 'from a browser' });
    expect((await cookie(browser, NOTES)).body.data!.notes).toEqual([added.body.data!.addNote]);
  });

  it('cookie: a query needs no CSRF token; addNote without it (or with a wrong one) is CSRF_REJECTED and writes nothing', async () => {
    const { browser } = await signedInBrowser(t);
    const { browser: other } = await signedInBrowser(t);
    expect((await cookie(browser, NOTES, undefined, { csrf: false })).body).toEqual({ data: { notes: [] } });
    expect(errorCode(await cookie(browser, ADD_NOTE, { text: 'forged' }, { csrf: false }))).toBe('CSRF_REJECTED');
    expect(errorCode(await cookie(browser, ADD_NOTE, { text: 'forged' }, { csrf: false, headers: { 'x-csrf-token': other.csrfToken! } }))).toBe('CSRF_REJECTED');
    expect(errorCode(await cookie(browser, ADD_NOTE, { text: 'forged' }, { csrf: false, headers: { 'x-csrf-token': 'junk' } }))).toBe('CSRF_REJECTED');
    // Another site's page: right token or not, its Origin is refused.
    expect(errorCode(await cookie(browser, ADD_NOTE, { text: 'forged' }, { headers: { Origin: 'https://evil.example' } }))).toBe('CSRF_REJECTED');
    const rejected = await cookie(browser, ADD_NOTE, { text: 'forged' }, { csrf: false });
    expect(rejected.body.errors![0]).toMatchObject({ path: ['addNote'], extensions: { code: 'CSRF_REJECTED', statusCode: 403 } });
    expect((await cookie(browser, NOTES)).body).toEqual({ data: { notes: [] } });
    expect((await request(t.server).get('/notes').set('Cookie', browser.cookieHeader('/notes'))).body).toEqual([]);
  });

  it('no token → UNAUTHENTICATED on queries and mutations; a malformed or forged token too', async () => {
    expect(errorCode(await bearer(null, ME))).toBe('UNAUTHENTICATED');
    expect(errorCode(await bearer(null, NOTES))).toBe('UNAUTHENTICATED');
    expect(errorCode(await bearer(null, ADD_NOTE, { text: 'x' }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await bearer('not.a.token', ME))).toBe('UNAUTHENTICATED');
    const { accessToken } = await bearerLogin(t);
    const [h, p, s] = accessToken.split('.');
    expect(errorCode(await bearer(`${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`, ME))).toBe('UNAUTHENTICATED');
    const res = await bearer(null, ME);
    expect(res.body.errors![0]).toMatchObject({ path: ['me'], extensions: { code: 'UNAUTHENTICATED', statusCode: 401 } });
  });

  it('an expired access token → ACCESS_TOKEN_EXPIRED (bearer and cookie), so the client refreshes', async () => {
    const { accessToken } = await bearerLogin(t);
    const { browser } = await signedInBrowser(t);
    const clock = useFakeDate();
    try {
      clock.advance(11 * 60_000);
      expect(errorCode(await bearer(accessToken, ME))).toBe('ACCESS_TOKEN_EXPIRED');
      expect(errorCode(await bearer(accessToken, ADD_NOTE, { text: 'late' }))).toBe('ACCESS_TOKEN_EXPIRED');
      expect(errorCode(await cookie(browser, ME))).toBe('ACCESS_TOKEN_EXPIRED');
      // After a refresh the same browser is back.
      expect((await browser.post('/auth/refresh')).status).toBe(200);
      expect((await cookie(browser, ME)).body.data!.me).toBeTruthy();
    } finally {
      clock.restore();
    }
  });

  it('a revoked session → SESSION_REVOKED', async () => {
    const { accessToken } = await bearerLogin(t);
    expect((await bearer(accessToken, ME)).body.data!.me).toBeTruthy();
    expect((await request(t.server).post('/auth/logout').set('Authorization', `Bearer ${accessToken}`)).status).toBe(204);
    expect(errorCode(await bearer(accessToken, ME))).toBe('SESSION_REVOKED');
    expect(errorCode(await bearer(accessToken, ADD_NOTE, { text: 'x' }))).toBe('SESSION_REVOKED');

    // Logout clears the browser's cookies: replay its access cookie from a copy (a stolen one).
    const { browser } = await signedInBrowser(t);
    const stolen = new Browser(t);
    stolen.cookies.set(ACCESS, browser.cookies.get(ACCESS)!);
    expect((await cookie(stolen, ME)).body.data!.me).toBeTruthy();
    expect((await browser.post('/auth/logout')).status).toBe(204);
    expect(errorCode(await cookie(stolen, ME))).toBe('SESSION_REVOKED');
  });

  it('@Roles + RolesGuard: adminPing is FORBIDDEN without the admin role, true with it', async () => {
    const { accessToken } = await bearerLogin(t);
    expect(errorCode(await bearer(accessToken, '{ adminPing }'))).toBe('FORBIDDEN');
    expect(errorCode(await bearer(null, '{ adminPing }'))).toBe('UNAUTHENTICATED');
    const { accessToken: admin } = await bearerLogin(t, adminEmail);
    expect((await bearer(admin, '{ adminPing }')).body).toEqual({ data: { adminPing: true } });
    expect((await bearer(admin, ME)).body.data!.me).toMatchObject({ roles: ['admin'] });
  });

  it('@Public: ping answers without a token, and with one', async () => {
    expect((await bearer(null, '{ ping }')).body).toEqual({ data: { ping: 'pong' } });
    const { accessToken } = await bearerLogin(t);
    expect((await bearer(accessToken, '{ ping }')).body).toEqual({ data: { ping: 'pong' } });
  });

  it('a guarded field beside a public one fails alone, with its path (me is non-null: data is null)', async () => {
    const res = await bearer(null, '{ ping me { id } }');
    expect(res.status).toBe(200);
    expect(res.body.data).toBeNull();
    expect(res.body.errors).toEqual([expect.objectContaining({ path: ['me'], extensions: { code: 'UNAUTHENTICATED', statusCode: 401 } })]);
  });

  it('addNote validates its input like POST /notes (VALIDATION_FAILED), and a bad query is a 400, not a 500', async () => {
    const { accessToken } = await bearerLogin(t);
    expect(errorCode(await bearer(accessToken, ADD_NOTE, { text: '' }))).toBe('VALIDATION_FAILED');
    expect(errorCode(await bearer(accessToken, ADD_NOTE, { text: 'x'.repeat(2001) }))).toBe('VALIDATION_FAILED');
    expect((await bearer(accessToken, NOTES)).body).toEqual({ data: { notes: [] } });
    const bad = await bearer(accessToken, '{ nope }');
    expect(bad.status).toBe(400);
    expect(bad.body.errors![0].extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const unparsable = await bearer(accessToken, '{ me { ');
    expect(unparsable.status).toBe(400);
    expect(unparsable.body.errors![0].extensions!.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('a subscription (the schema has none, and HTTP carries none) is a 400 with a stable code, not an internal error', async () => {
    const { accessToken } = await bearerLogin(t);
    for (const token of [accessToken, null]) {
      for (const query of ['subscription { me { id } }', 'subscription Watch { notes { id } }']) {
        const res = await bearer(token, query);
        expect([res.status, res.body.errors?.[0]?.extensions]).toEqual([400, { code: 'GRAPHQL_VALIDATION_FAILED' }]);
        expect(res.body.errors![0].message).toMatch(/subscriptions are not served/i);
      }
    }
  });

  it('logs no stack trace for refused requests', async () => {
    await bearer(null, ME);
    const { browser } = await signedInBrowser(t, uniqueEmail());
    await cookie(browser, ADD_NOTE, { text: 'x' }, { csrf: false });
    expect(t.logger.lines.filter((l) => /\n\s+at /.test(l))).toEqual([]);
  });
});

describe.each(ADAPTERS)('GraphQL under GLOBAL_PREFIX on %s', (adapter) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ HTTP_ADAPTER: adapter, GLOBAL_PREFIX: 'api' });
  });
  afterAll(() => t.close());

  it('is served at /api/graphql, with the guards, and /graphql is a 404', async () => {
    const ping = await request(t.server).post('/api/graphql').send({ query: '{ ping }' });
    expect(ping.body).toEqual({ data: { ping: 'pong' } });
    const me = checked(await request(t.server).post('/api/graphql').send({ query: ME }));
    expect(errorCode(me)).toBe('UNAUTHENTICATED');
    expect((await request(t.server).post('/graphql').send({ query: '{ ping }' })).status).toBe(404);
  });
});

// The library alone in a user's app: Apollo's defaults (its own HttpException mapping, no
// formatError) and no exception filter of the app's. The codes must still be the library's.

@ObjectType()
class Who {
  @Field(() => ID) id!: string;
  @Field(() => [String]) roles!: string[];
  @Field(() => ID) sessionId!: string;
  @Field(() => String) via!: string;
}

const touched: string[] = [];

@Injectable()
@Resolver()
@UseGuards(SessionGuard, RolesGuard)
class UserAppResolver {
  @Query(() => Who)
  who(@CurrentUser() user: SessionUser, @CurrentSession() session: SessionInfo): Who {
    return { id: String(user.id), roles: user.roles, sessionId: session.id, via: session.tokenSource };
  }

  @Public()
  @Query(() => String)
  open(): string {
    return 'open';
  }

  @Roles('admin')
  @Query(() => Boolean)
  admin(): boolean {
    return true;
  }

  @Mutation(() => Boolean)
  touch(@CurrentUser() user: SessionUser): boolean {
    touched.push(String(user.id));
    return true;
  }

  @RequireFreshSession('1m')
  @Mutation(() => Boolean)
  sensitive(): boolean {
    return true;
  }
}

describe.each(ADAPTERS)('GraphQL in a user app (Apollo defaults, no app filter) on %s', (adapter) => {
  let t: Awaited<ReturnType<typeof startBareApp>>;
  beforeAll(async () => {
    touched.length = 0;
    t = await startBareApp({
      adapter,
      imports: [GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true, graphiql: false, includeStacktraceInErrorResponses: false })],
      providers: [UserAppResolver, { provide: APP_GUARD, useExisting: CsrfGuard }],
    });
  });
  afterAll(() => t.close());

  const gql = async (query: string, headers: Record<string, string> = {}) => {
    let req = request(t.server).post('/graphql');
    for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
    return checked(await req.send({ query }));
  };
  const bearerOf = async (id: string) => {
    const login = await request(t.server).post('/login').set('X-Session-Transport', 'bearer').send({ id });
    expect(login.status).toBe(200);
    return { authorization: `Bearer ${login.body.accessToken as string}` };
  };
  const cookiesOf = async (id: string) => {
    const login = await request(t.server).post('/login').send({ id });
    expect(login.status).toBe(200);
    const raw = login.headers['set-cookie'] as unknown as string[];
    return { cookie: raw.map((c) => c.split(';')[0]).join('; '), csrf: login.body.csrfToken as string };
  };

  it('admits bearer and cookie callers, with @CurrentUser and @CurrentSession', async () => {
    const bearer = await gql('{ who { id roles via } }', await bearerOf('gql-user-1'));
    expect(bearer.body).toEqual({ data: { who: { id: 'gql-user-1', roles: ['reader'], via: 'bearer' } } });
    const { cookie } = await cookiesOf('gql-user-2');
    expect((await gql('{ who { id via } }', { cookie })).body).toEqual({ data: { who: { id: 'gql-user-2', via: 'cookie' } } });
    expect((await gql('{ open }')).body).toEqual({ data: { open: 'open' } });
  });

  it('keeps the library codes in extensions.code: UNAUTHENTICATED, FORBIDDEN, CSRF_REJECTED, ACCESS_TOKEN_EXPIRED, REAUTHENTICATION_REQUIRED', async () => {
    expect(errorCode(await gql('{ who { id } }'))).toBe('UNAUTHENTICATED');
    const bearer = await bearerOf('gql-user-3');
    expect(errorCode(await gql('{ admin }', bearer))).toBe('FORBIDDEN');
    const { cookie, csrf } = await cookiesOf('gql-user-4');
    expect(errorCode(await gql('mutation { touch }', { cookie }))).toBe('CSRF_REJECTED');
    expect(touched).not.toContain('gql-user-4');
    expect((await gql('mutation { touch }', { cookie, 'x-csrf-token': csrf })).body).toEqual({ data: { touch: true } });
    expect(touched).toContain('gql-user-4');
    expect((await gql('mutation { touch }', bearer)).body).toEqual({ data: { touch: true } });
    expect((await gql('mutation { sensitive }', bearer)).body).toEqual({ data: { sensitive: true } });
    const clock = useFakeDate();
    try {
      clock.advance(2 * 60_000);
      expect(errorCode(await gql('mutation { sensitive }', bearer))).toBe('REAUTHENTICATION_REQUIRED');
      clock.advance(10 * 60_000);
      expect(errorCode(await gql('{ who { id } }', bearer))).toBe('ACCESS_TOKEN_EXPIRED');
    } finally {
      clock.restore();
    }
    expect(t.logger.lines.filter((l) => /\n\s+at /.test(l))).toEqual([]);
  });
});

// The other driver a Fastify app may choose: Mercurius keeps the request at `reply.request` in its
// context (requestOfContext), and reports resolver errors its own way. Same resolver, same codes.
describe('GraphQL in a user app with Mercurius on fastify', () => {
  let t: Awaited<ReturnType<typeof startBareApp>>;
  beforeAll(async () => {
    touched.length = 0;
    t = await startBareApp({
      adapter: 'fastify',
      imports: [GraphQLModule.forRoot<MercuriusDriverConfig>({ driver: MercuriusDriver, autoSchemaFile: true, graphiql: false })],
      providers: [UserAppResolver, { provide: APP_GUARD, useExisting: CsrfGuard }],
    });
  });
  afterAll(() => t.close());

  const gql = async (query: string, headers: Record<string, string> = {}) => {
    let req = request(t.server).post('/graphql');
    for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
    const res = await req.send({ query });
    expect(res.status).not.toBe(500);
    expect(JSON.stringify(res.body)).not.toMatch(/stack|originalError|exception/i);
    return res as request.Response & { body: GqlBody };
  };
  /** The single error's code; Mercurius also answers with its status (401, 403) rather than 200. */
  const codeOf = (res: request.Response & { body: GqlBody }) => {
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.data ?? null).toBeNull();
    expect(res.status).toBe(res.body.errors![0].extensions?.statusCode);
    return res.body.errors![0].extensions?.code;
  };
  const login = (id: string, transport: 'bearer' | 'cookie') => bareLogin(t.server, id, transport);

  it('admits bearer and cookie callers, with @CurrentUser and @CurrentSession; @Public answers without a token', async () => {
    const bearer = await login('mq-user-1', 'bearer');
    expect((await gql('{ who { id roles via } }', { authorization: bearer.authorization })).body).toEqual({ data: { who: { id: 'mq-user-1', roles: ['reader'], via: 'bearer' } } });
    const { cookie } = await login('mq-user-2', 'cookie');
    expect((await gql('{ who { id via } }', { cookie })).body).toEqual({ data: { who: { id: 'mq-user-2', via: 'cookie' } } });
    expect((await gql('{ open }')).body).toEqual({ data: { open: 'open' } });
  });

  it('keeps the library codes in extensions.code: UNAUTHENTICATED, FORBIDDEN, CSRF_REJECTED, ACCESS_TOKEN_EXPIRED', async () => {
    expect(codeOf(await gql('{ who { id } }'))).toBe('UNAUTHENTICATED');
    const { authorization } = await login('mq-user-3', 'bearer');
    expect(codeOf(await gql('{ admin }', { authorization }))).toBe('FORBIDDEN');
    const { cookie, csrf } = await login('mq-user-4', 'cookie');
    expect(codeOf(await gql('mutation { touch }', { cookie }))).toBe('CSRF_REJECTED');
    expect(touched).not.toContain('mq-user-4');
    expect((await gql('mutation { touch }', { cookie, 'x-csrf-token': csrf })).body).toEqual({ data: { touch: true } });
    expect(touched).toContain('mq-user-4');
    const clock = useFakeDate();
    try {
      clock.advance(11 * 60_000);
      expect(codeOf(await gql('{ who { id } }', { authorization }))).toBe('ACCESS_TOKEN_EXPIRED');
    } finally {
      clock.restore();
    }
    expect(t.logger.lines.filter((l) => /\n\s+at /.test(l))).toEqual([]);
  });
});
