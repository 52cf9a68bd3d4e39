import { SetMetadata, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CsrfRejectedError, UnauthenticatedError } from '../errors/session-error';
import { SessionGraphQLError } from '../graphql/session-graphql-error';
import { resolveSessionOptions } from '../resolve-options';
import { CSRF_LENIENT_COOKIES_KEY, SKIP_CSRF_KEY } from '../session.constants';
import { mintCsrfToken } from '../tokens/csrf-token';
import type { AccessTokenService } from '../tokens/access-token';
import type { SessionEvents } from '../events/session-events';
import { CsrfGuard } from './csrf.guard';

// CsrfGuard on its own: which requests it reads at all, the origin and token checks, the cookies
// that name a session, the once-per-request memo, and what a refusal throws and records. The
// access token is "verified" by a stub that knows the tokens this file names.

const SID = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';
const SECRET = 'A'.repeat(43);

const options = resolveSessionOptions(
  { jwtSecret: 'j'.repeat(20) + 'Kx9pQ2vL7mZ4tR8wY3nB6cF1', sessionSecret: 's'.repeat(20) + 'Hq5jW8eT2yU6iO9pA3sD7fG4', loadUser: () => null, cookies: { secure: false } },
  {},
  { NODE_ENV: 'test' },
);
const ACCESS = options.cookies.accessName;
const REFRESH = options.cookies.refreshName;
const csrfFor = (sid: string) => mintCsrfToken(options.csrfKey, sid);

class Routes {
  save() {}
  @SetMetadata(SKIP_CSRF_KEY, true) webhook() {}
  @SetMetadata(CSRF_LENIENT_COOKIES_KEY, true) logout() {}
}

interface Setup {
  guard: CsrfGuard;
  sessionIdOf: jest.Mock;
  events: Array<[string, Record<string, unknown>]>;
}

function setup(): Setup {
  const sessionIdOf = jest.fn(async (token: string) => (token === 'access-for-sid' ? SID : token === 'access-for-other' ? OTHER : null));
  const accessTokens = { sessionIdOf } as unknown as AccessTokenService;
  const guard = new CsrfGuard(new Reflector(), options, accessTokens);
  const events: Setup['events'] = [];
  (guard as unknown as { events: SessionEvents }).events = { emit: (name: string, payload: Record<string, unknown>) => events.push([name, payload]) } as unknown as SessionEvents;
  return { guard, sessionIdOf, events };
}

function http(headers: Record<string, string>, method = 'POST', handler: keyof Routes = 'save') {
  const req = { method, headers };
  const context = {
    getType: () => 'http',
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => req }),
    getArgs: () => [req],
  } as unknown as ExecutionContext;
  return { req, context };
}

function graphql(headers: Record<string, string>, operation: string | undefined) {
  const req = { method: 'POST', headers };
  const info = operation === undefined ? {} : { operation: { operation } };
  const context = {
    getType: () => 'graphql',
    getHandler: () => Routes.prototype.save,
    getClass: () => Routes,
    getArgs: () => [{}, {}, { req }, info],
  } as unknown as ExecutionContext;
  return { req, context };
}

const cookies = (...pairs: Array<[string, string]>) => pairs.map(([k, v]) => `${k}=${v}`).join('; ');
const withSession = (extra: Record<string, string> = {}) => ({ cookie: cookies([ACCESS, 'access-for-sid']), 'x-csrf-token': csrfFor(SID), ...extra });

async function verdict(guard: CsrfGuard, context: ExecutionContext): Promise<string> {
  try {
    const result = await guard.canActivate(context);
    return result === true ? 'pass' : `returned ${String(result)}`;
  } catch (error) {
    if (error instanceof SessionGraphQLError) return `graphql ${String(error.extensions.code)}`;
    if (error instanceof CsrfRejectedError) return 'CSRF_REJECTED';
    if (error instanceof UnauthenticatedError) return 'UNAUTHENTICATED';
    return `thrown ${(error as Error).message}`;
  }
}

describe('CsrfGuard: which requests are checked', () => {
  it.each(['GET', 'HEAD', 'OPTIONS', 'get'])('a safe method (%s) passes unread, synchronously', (method) => {
    const { guard, sessionIdOf } = setup();
    expect(guard.canActivate(http({ cookie: cookies([ACCESS, 'access-for-sid']) }, method).context)).toBe(true);
    expect(sessionIdOf).not.toHaveBeenCalled();
  });

  it('a request with no method counts as GET', () => {
    const { guard } = setup();
    const req = { headers: { cookie: cookies([ACCESS, 'x']) } };
    const context = { getType: () => 'http', getHandler: () => Routes.prototype.save, getClass: () => Routes, switchToHttp: () => ({ getRequest: () => req }) } as unknown as ExecutionContext;
    expect(guard.canActivate(context)).toBe(true);
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE', 'post'])('an unsafe method (%s) with an auth cookie is checked', async (method) => {
    const { guard } = setup();
    expect(await verdict(guard, http({ cookie: cookies([ACCESS, 'access-for-sid']) }, method).context)).toBe('CSRF_REJECTED');
  });

  it('an unsafe request without any auth cookie (a bearer client) passes unread', () => {
    const { guard, sessionIdOf } = setup();
    expect(guard.canActivate(http({ authorization: 'Bearer x', cookie: 'theme=dark' }).context)).toBe(true);
    expect(guard.canActivate(http({}).context)).toBe(true);
    expect(sessionIdOf).not.toHaveBeenCalled();
  });

  it('@SkipCsrf() routes pass', () => {
    const { guard } = setup();
    expect(guard.canActivate(http({ cookie: cookies([ACCESS, 'access-for-sid']) }, 'POST', 'webhook').context)).toBe(true);
  });

  it.each(['ws', 'rpc'])('a %s context passes', (type) => {
    const { guard } = setup();
    const context = { getType: () => type } as unknown as ExecutionContext;
    expect(guard.canActivate(context)).toBe(true);
  });
});

describe('CsrfGuard: the checks', () => {
  it('the session’s token from our origin passes', async () => {
    const { guard } = setup();
    expect(await verdict(guard, http(withSession()).context)).toBe('pass');
    expect(await verdict(guard, http(withSession({ 'sec-fetch-site': 'same-origin' })).context)).toBe('pass');
  });

  it('a missing, foreign or garbled token is refused', async () => {
    const { guard } = setup();
    expect(await verdict(guard, http({ cookie: cookies([ACCESS, 'access-for-sid']) }).context)).toBe('CSRF_REJECTED');
    expect(await verdict(guard, http(withSession({ 'x-csrf-token': csrfFor(OTHER) })).context)).toBe('CSRF_REJECTED');
    expect(await verdict(guard, http(withSession({ 'x-csrf-token': 'nonsense' })).context)).toBe('CSRF_REJECTED');
  });

  it('a token minted under an earlier sessionSecret still passes', async () => {
    const current = resolveSessionOptions(
      { jwtSecret: 'j'.repeat(20) + 'Kx9pQ2vL7mZ4tR8wY3nB6cF1', sessionSecret: 'n'.repeat(20) + 'Vb4nM7kJ2hG5fD8sA1qW3eR6', previousSessionSecrets: ['s'.repeat(20) + 'Hq5jW8eT2yU6iO9pA3sD7fG4'], loadUser: () => null, cookies: { secure: false } },
      {},
      { NODE_ENV: 'test' },
    );
    const guard = new CsrfGuard(new Reflector(), current, { sessionIdOf: async () => SID } as unknown as AccessTokenService);
    expect(await verdict(guard, http(withSession()).context)).toBe('pass');
  });

  it('a cross-site request is refused even with the right token', async () => {
    const { guard } = setup();
    expect(await verdict(guard, http(withSession({ 'sec-fetch-site': 'cross-site' })).context)).toBe('CSRF_REJECTED');
    expect(await verdict(guard, http(withSession({ origin: 'https://evil.example', host: 'app.example' })).context)).toBe('CSRF_REJECTED');
  });

  it('an access cookie that does not verify names no session: the refresh cookie’s does', async () => {
    const { guard } = setup();
    const headers = { cookie: cookies([ACCESS, 'expired-or-forged'], [REFRESH, `${SID}.${SECRET}`]), 'x-csrf-token': csrfFor(SID) };
    expect(await verdict(guard, http(headers).context)).toBe('pass');
    expect(await verdict(guard, http({ cookie: cookies([ACCESS, 'expired-or-forged']), 'x-csrf-token': csrfFor(SID) }).context)).toBe('CSRF_REJECTED');
  });

  it('a refresh cookie alone names its session; a malformed one names none', async () => {
    const { guard, sessionIdOf } = setup();
    expect(await verdict(guard, http({ cookie: cookies([REFRESH, `${SID}.${SECRET}`]), 'x-csrf-token': csrfFor(SID) }).context)).toBe('pass');
    expect(sessionIdOf).not.toHaveBeenCalled();
    expect(await verdict(guard, http({ cookie: cookies([REFRESH, 'not-a-token']), 'x-csrf-token': csrfFor(SID) }).context)).toBe('CSRF_REJECTED');
  });

  it('cookies that name two sessions are refused (a sibling subdomain planted one)', async () => {
    const { guard } = setup();
    const headers = { cookie: cookies([ACCESS, 'access-for-sid'], [REFRESH, `${OTHER}.${SECRET}`]), 'x-csrf-token': csrfFor(SID) };
    expect(await verdict(guard, http(headers).context)).toBe('CSRF_REJECTED');
    const same = { cookie: cookies([ACCESS, 'access-for-sid'], [REFRESH, `${SID}.${SECRET}`]), 'x-csrf-token': csrfFor(SID) };
    expect(await verdict(guard, http(same).context)).toBe('pass');
  });

  it('a duplicated auth cookie is a 401, except on a lenient route, which ignores it', async () => {
    const { guard } = setup();
    const doubled = { cookie: cookies([ACCESS, 'access-for-sid'], [ACCESS, 'access-for-other']), 'x-csrf-token': csrfFor(SID) };
    expect(await verdict(guard, http(doubled).context)).toBe('UNAUTHENTICATED');
    const doubledRefresh = { cookie: cookies([REFRESH, `${SID}.${SECRET}`], [REFRESH, `${OTHER}.${SECRET}`]), 'x-csrf-token': csrfFor(SID) };
    expect(await verdict(guard, http(doubledRefresh).context)).toBe('UNAUTHENTICATED');
    // Logout: the conflicting access cookie names nothing; the refresh cookie's session decides.
    const lenient = { cookie: cookies([ACCESS, 'a'], [ACCESS, 'b'], [REFRESH, `${SID}.${SECRET}`]), 'x-csrf-token': csrfFor(SID) };
    expect(await verdict(guard, http(lenient, 'POST', 'logout').context)).toBe('pass');
    expect(await verdict(guard, http({ ...lenient, 'x-csrf-token': 'x' }, 'POST', 'logout').context)).toBe('CSRF_REJECTED');
  });

  it('on a lenient route, cookies that all conflict name no session and pass (the route refuses cross-site itself)', async () => {
    const { guard } = setup();
    const planted = { cookie: cookies([ACCESS, 'a'], [ACCESS, 'b']) };
    expect(await verdict(guard, http(planted, 'POST', 'logout').context)).toBe('pass');
    expect(await verdict(guard, http(planted, 'POST', 'save').context)).toBe('UNAUTHENTICATED');
  });
});

describe('CsrfGuard: once per request', () => {
  it('a request it let through is not checked again by the same guard class', async () => {
    const { guard, sessionIdOf } = setup();
    const { context } = http(withSession());
    expect(await verdict(guard, context)).toBe('pass');
    expect(guard.canActivate(context)).toBe(true);
    expect(sessionIdOf).toHaveBeenCalledTimes(1);
  });

  it('a refused request is checked again, and a subclass checks for itself', async () => {
    const { guard, sessionIdOf } = setup();
    const refused = http({ cookie: cookies([ACCESS, 'access-for-sid']) });
    expect(await verdict(guard, refused.context)).toBe('CSRF_REJECTED');
    expect(await verdict(guard, refused.context)).toBe('CSRF_REJECTED');
    expect(sessionIdOf).toHaveBeenCalledTimes(2);
    class StricterCsrfGuard extends CsrfGuard {}
    const stricter = new StricterCsrfGuard(new Reflector(), options, { sessionIdOf } as unknown as AccessTokenService);
    const { context } = http(withSession());
    expect(await verdict(guard, context)).toBe('pass');
    expect(await verdict(stricter, context)).toBe('pass');
    expect(sessionIdOf).toHaveBeenCalledTimes(4);
  });
});

describe('CsrfGuard: refusals are recorded', () => {
  it('csrf_rejected names the session the cookies named and the route, never the token', async () => {
    const { guard, events } = setup();
    await verdict(guard, http({ cookie: cookies([ACCESS, 'access-for-sid']), 'x-csrf-token': 'bad' }).context);
    expect(events).toEqual([['csrf_rejected', { sessionId: SID, at: expect.any(Date), route: 'Routes.save' }]]);
  });

  it('a 401 for conflicting cookies is not a CSRF refusal', async () => {
    const { guard, events } = setup();
    await verdict(guard, http({ cookie: cookies([ACCESS, 'a'], [ACCESS, 'b']) }).context);
    expect(events).toEqual([]);
  });

  it('assertAllowedOrigin refuses another site’s request and records it with no session', () => {
    const { guard, events } = setup();
    expect(() => guard.assertAllowedOrigin({ method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } }, 'SessionController.logout')).toThrow(CsrfRejectedError);
    expect(events).toEqual([['csrf_rejected', { sessionId: null, at: expect.any(Date), route: 'SessionController.logout' }]]);
    expect(() => guard.assertAllowedOrigin({ method: 'POST', headers: { 'sec-fetch-site': 'same-origin' } }, 'SessionController.logout')).not.toThrow();
    expect(events).toHaveLength(1);
  });

  it('isAllowedOrigin follows the configured trusted origins', () => {
    const trusting = new CsrfGuard(
      new Reflector(),
      { ...options, csrf: { ...options.csrf, trustedOrigins: new Set(['https://admin.example']) } },
      { sessionIdOf: async () => null } as unknown as AccessTokenService,
    );
    const req = { method: 'POST', headers: { origin: 'https://admin.example', host: 'api.example' } };
    expect(trusting.isAllowedOrigin(req)).toBe(true);
    expect(setup().guard.isAllowedOrigin(req)).toBe(false);
  });
});

describe('CsrfGuard in GraphQL', () => {
  it('a query passes; a mutation (or an operation it cannot read) is checked on the context’s request', async () => {
    const { guard } = setup();
    expect(guard.canActivate(graphql({ cookie: cookies([ACCESS, 'access-for-sid']) }, 'query').context)).toBe(true);
    expect(await verdict(guard, graphql({ cookie: cookies([ACCESS, 'access-for-sid']) }, 'mutation').context)).toBe('graphql CSRF_REJECTED');
    expect(await verdict(guard, graphql({ cookie: cookies([ACCESS, 'access-for-sid']) }, undefined).context)).toBe('graphql CSRF_REJECTED');
    expect(await verdict(guard, graphql(withSession(), 'mutation').context)).toBe('pass');
  });

  it('a GraphQL context without a request carries no cookies: it passes', () => {
    const { guard } = setup();
    const context = { getType: () => 'graphql', getHandler: () => Routes.prototype.save, getClass: () => Routes, getArgs: () => [{}, {}, {}, { operation: { operation: 'mutation' } }] } as unknown as ExecutionContext;
    expect(guard.canActivate(context)).toBe(true);
  });
});
