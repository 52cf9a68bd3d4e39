import { HttpException, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { randomBytes, randomUUID } from 'node:crypto';
import { AccessTokenExpiredError, SessionRevokedError, SessionStoreUnavailableError, UnauthenticatedError } from '../errors/session-error';
import { SessionGraphQLError } from '../graphql/session-graphql-error';
import { SessionCredentials } from '../http/session-credentials';
import { resolveSessionOptions, type ResolvedSessionOptions } from '../resolve-options';
import { requestSessionOf } from '../http/request-session';
import { SessionService } from '../session.service';
import { toAuthenticated } from '../authenticated-session';
import type { SessionModuleOptions } from '../session.options';
import type { AccessClaims } from '../tokens/access-claims';
import { SessionJwtStrategy } from './jwt.strategy';
import { SessionGuard } from './session.guard';

// The verified-token cache in front of passport: what a hit hands the handler, what it still
// checks (exp, liveness), what it is keyed by and what it evicts. Passport and the session store
// are stubbed: the strategy "verifies" the tokens this file made, and counts the calls.

class Routes {
  me() {}
}

const secret = () => randomBytes(32).toString('base64url').replace(/[^A-Za-z0-9]/g, 'A');

function optionsWith(overrides: Partial<SessionModuleOptions> = {}): ResolvedSessionOptions {
  return resolveSessionOptions({ jwtSecret: secret(), sessionSecret: secret(), loadUser: () => null, ...overrides }, {}, { NODE_ENV: 'test' });
}

/** A well-formed token (three base64url segments) standing for `claims` in the stub strategy. */
const known = new Map<string, AccessClaims>();
function tokenFor(overrides: Partial<AccessClaims> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const claims: AccessClaims = {
    iss: 'nest-sessions',
    aud: 'nest-sessions',
    sub: `user-${randomUUID()}`,
    sid: randomUUID(),
    jti: randomUUID(),
    iat: now,
    exp: now + 600,
    roles: ['reader', 'editor'],
    auth_time: now - 60,
    ...overrides,
  };
  const token = `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
  known.set(token, claims);
  return token;
}

function setup(overrides: Partial<SessionModuleOptions> = {}) {
  const options = optionsWith(overrides);
  const verifyToken = jest.fn(async (token: string, _nowMs: number) => {
    const claims = known.get(token);
    if (!claims) throw new UnauthenticatedError();
    return { ...claims, roles: [...claims.roles] };
  });
  const isKnownLive = jest.fn((_claims: AccessClaims) => true);
  const assertLive = jest.fn(async (_claims: AccessClaims) => undefined);
  const sessions = { isKnownLive, assertLive } as unknown as SessionService;
  const strategy = { verifyToken } as unknown as SessionJwtStrategy;
  const guard = new SessionGuard(new Reflector(), options, sessions, new SessionCredentials(options), strategy);
  return { guard, options, verifyToken, isKnownLive, assertLive };
}

function request(headers: Record<string, string>) {
  const req: Record<string, unknown> = { method: 'GET', headers };
  const context = {
    getHandler: () => Routes.prototype.me,
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => req }),
  } as unknown as ExecutionContext;
  return { req, context };
}
const bearer = (token: string) => request({ authorization: `Bearer ${token}` });

describe('SessionGuard verified-token cache', () => {
  it('answers a repeat request synchronously, with the user and session toAuthenticated makes', async () => {
    const { guard, options, verifyToken } = setup();
    const token = tokenFor({ uid: undefined });
    const first = bearer(token);
    await expect(guard.canActivate(first.context)).resolves.toBe(true);
    const second = request({ cookie: `${options.cookies.accessName}=${token}` });
    expect(guard.canActivate(second.context)).toBe(true);
    expect(verifyToken).toHaveBeenCalledTimes(1);

    const expected = toAuthenticated(known.get(token)!, 'cookie');
    expect(second.req.user).toStrictEqual(expected.user);
    expect(requestSessionOf(second.req)).toStrictEqual(expected.session);
    expect(Object.keys(requestSessionOf(second.req) as object)).toEqual(Object.keys(expected.session));
    expect(requestSessionOf(first.req)!.tokenSource).toBe('bearer');
  });

  it('gives a numeric user id (uid) back as a number, and null authenticatedAt without auth_time', async () => {
    const { guard } = setup();
    const token = tokenFor({ sub: '42', uid: 42, auth_time: undefined });
    await guard.canActivate(bearer(token).context);
    const { req, context } = bearer(token);
    expect(guard.canActivate(context)).toBe(true);
    expect(req.user).toStrictEqual({ id: 42, roles: ['reader', 'editor'] });
    expect(requestSessionOf(req)).toMatchObject({ userId: 42, authenticatedAt: null });
  });

  it('hands every request objects of its own, which the handler may change', async () => {
    const { guard } = setup();
    const token = tokenFor();
    await guard.canActivate(bearer(token).context);
    const a = bearer(token);
    const b = bearer(token);
    guard.canActivate(a.context);
    guard.canActivate(b.context);
    const userA = a.req.user as { roles: string[] };
    expect(userA).not.toBe(b.req.user);
    expect(userA.roles).not.toBe((b.req.user as { roles: string[] }).roles);
    expect(Object.isFrozen(userA.roles)).toBe(false);
    userA.roles.push('admin');
    requestSessionOf(a.req)!.accessTokenExpiresAt.setTime(0);
    const c = bearer(token);
    guard.canActivate(c.context);
    expect((c.req.user as { roles: string[] }).roles).toEqual(['reader', 'editor']);
    expect(requestSessionOf(c.req)!.accessTokenExpiresAt.getTime()).toBe(known.get(token)!.exp * 1000);
  });

  it('re-checks exp on every hit', async () => {
    const { guard, verifyToken } = setup({ clockSkew: '5s' });
    const token = tokenFor();
    await guard.canActivate(bearer(token).context);
    const exp = known.get(token)!.exp;
    const now = jest.spyOn(Date, 'now').mockReturnValue((exp + 5) * 1000);
    try {
      expect(() => guard.canActivate(bearer(token).context)).toThrow(AccessTokenExpiredError);
    } finally {
      now.mockRestore();
    }
    expect(verifyToken).toHaveBeenCalledTimes(1);
  });

  it('asks about the session on every hit (strict), with its sid and sub, and waits for the store when the cache cannot vouch', async () => {
    const { guard, isKnownLive, assertLive } = setup();
    const token = tokenFor();
    const { sid, sub } = known.get(token)!;
    await guard.canActivate(bearer(token).context);
    guard.canActivate(bearer(token).context);
    guard.canActivate(bearer(token).context);
    expect(isKnownLive).toHaveBeenCalledTimes(2);
    expect(isKnownLive.mock.calls[1][0]).toMatchObject({ sid, sub });
    isKnownLive.mockReturnValue(false);
    assertLive.mockRejectedValueOnce(new SessionRevokedError());
    await expect(guard.canActivate(bearer(token).context)).rejects.toBeInstanceOf(SessionRevokedError);
    expect(assertLive.mock.calls.at(-1)![0]).toMatchObject({ sid, sub });
  });

  it('is keyed by the whole token: a token differing in any one segment is verified anew', async () => {
    const { guard, verifyToken } = setup();
    const token = tokenFor();
    await guard.canActivate(bearer(token).context);
    const [h, p, s] = token.split('.');
    for (const other of [`${h}A.${p}.${s}`, `${h}.${p}A.${s}`, `${h}.${p}.${s.slice(0, -1)}B`, `${h}.${p}.${s}A`]) {
      await expect(guard.canActivate(bearer(other).context)).rejects.toBeInstanceOf(UnauthenticatedError);
    }
    expect(verifyToken).toHaveBeenCalledTimes(5);
  });

  it('still refuses malformed and oversized tokens before any verification', async () => {
    const { guard, verifyToken } = setup();
    expect(() => guard.canActivate(bearer('not-a-jwt').context)).toThrow(UnauthenticatedError);
    const oversized = tokenFor({ roles: ['x'.repeat(4096)] });
    expect(() => guard.canActivate(bearer(oversized).context)).toThrow(UnauthenticatedError);
    expect(() => guard.canActivate(request({}).context)).toThrow(UnauthenticatedError);
    expect(verifyToken).not.toHaveBeenCalled();
  });

  it('stays within its capacity, keeping a token in use over one seen once (second chance)', async () => {
    const { guard, verifyToken } = setup({ verifiedTokenCacheSize: 2 });
    const [a, b, c] = [tokenFor(), tokenFor(), tokenFor()];
    await guard.canActivate(bearer(a).context);
    await guard.canActivate(bearer(b).context);
    expect(guard.canActivate(bearer(a).context)).toBe(true); // a in use
    await guard.canActivate(bearer(c).context); // evicts b, not a
    expect(verifyToken).toHaveBeenCalledTimes(3);
    expect(guard.canActivate(bearer(a).context)).toBe(true);
    expect(guard.canActivate(bearer(c).context)).toBe(true);
    await expect(guard.canActivate(bearer(b).context)).resolves.toBe(true); // verified again
    expect(verifyToken).toHaveBeenCalledTimes(4);
  });

  it('works with the cache off (verifiedTokenCacheSize 0): every request is verified', async () => {
    const { guard, verifyToken } = setup({ verifiedTokenCacheSize: 0 });
    const token = tokenFor();
    const { req, context } = bearer(token);
    await expect(guard.canActivate(context)).resolves.toBe(true);
    await expect(guard.canActivate(bearer(token).context)).resolves.toBe(true);
    expect(verifyToken).toHaveBeenCalledTimes(2);
    expect(req.user).toStrictEqual(toAuthenticated(known.get(token)!, 'bearer').user);
  });
});

describe('SessionGuard in a GraphQL resolver', () => {
  /** A resolver call: (root, args, context, info), the request in the context's `req`. */
  function resolverCall(headers: Record<string, string>) {
    const req: Record<string, unknown> = { method: 'POST', headers };
    const context = {
      getType: () => 'graphql',
      getHandler: () => Routes.prototype.me,
      getClass: () => Routes,
      getArgs: () => [undefined, {}, { req }, { operation: { operation: 'query' } }],
      switchToHttp: () => {
        throw new Error('a resolver has no HTTP context');
      },
    } as unknown as ExecutionContext;
    return { req, context };
  }

  it("admits by the GraphQL context's request and leaves the user and the session on it", async () => {
    const { guard } = setup();
    const token = tokenFor();
    const { req, context } = resolverCall({ authorization: `Bearer ${token}` });
    await expect(guard.canActivate(context)).resolves.toBe(true);
    expect(req.user).toStrictEqual(toAuthenticated(known.get(token)!, 'bearer').user);
    expect(requestSessionOf(req)!.id).toBe(known.get(token)!.sid);
  });

  it('throws SessionGraphQLError (not an HttpException) with the stable code and status in extensions', async () => {
    const { guard, assertLive } = setup();
    const codeOf = async (context: ExecutionContext) => {
      try {
        await guard.canActivate(context);
      } catch (error) {
        expect(error).toBeInstanceOf(SessionGraphQLError);
        expect(error).not.toBeInstanceOf(HttpException);
        expect(Object.keys((error as SessionGraphQLError).extensions).sort()).toEqual(['code', 'statusCode']);
        return (error as SessionGraphQLError).extensions;
      }
      throw new Error('admitted');
    };
    expect(await codeOf(resolverCall({}).context)).toEqual({ code: 'UNAUTHENTICATED', statusCode: 401 });
    assertLive.mockRejectedValueOnce(new SessionRevokedError());
    expect(await codeOf(resolverCall({ authorization: `Bearer ${tokenFor()}` }).context)).toEqual({ code: 'SESSION_REVOKED', statusCode: 401 });
    assertLive.mockRejectedValueOnce(new SessionStoreUnavailableError('test'));
    expect(await codeOf(resolverCall({ authorization: `Bearer ${tokenFor()}` }).context)).toEqual({ code: 'SERVICE_UNAVAILABLE', statusCode: 503 });
  });
});
