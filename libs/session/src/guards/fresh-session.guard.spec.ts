import { SetMetadata, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CsrfRejectedError, ReauthenticationRequiredError, UnauthenticatedError } from '../errors/session-error';
import { SessionCredentials } from '../http/session-credentials';
import { resolveSessionOptions } from '../resolve-options';
import { FRESH_SESSION_KEY, IS_PUBLIC_KEY } from '../session.constants';
import { requestSessionOf } from '../http/request-session';
import type { SessionService } from '../session.service';
import type { AccessClaims } from '../tokens/access-claims';
import type { SessionJwtStrategy } from './jwt.strategy';
import type { CsrfGuard } from './csrf.guard';
import { FreshSessionGuard } from './fresh-session.guard';
import { LoginCsrfGuard } from './login-csrf.guard';

// FreshSessionGuard: authenticates by itself, then asks that the user proved who they are within
// the route's maxAge (by the token's auth_time, on the app's clock, with the skew); LoginCsrfGuard:
// the origin check alone, as CsrfGuard judges it.

const NOW = 1_800_000_000_000;
const options = resolveSessionOptions(
  { jwtSecret: 'j'.repeat(20) + 'Kx9pQ2vL7mZ4tR8wY3nB6cF1', sessionSecret: 's'.repeat(20) + 'Hq5jW8eT2yU6iO9pA3sD7fG4', loadUser: () => null, clockSkew: 5 },
  {},
  { NODE_ENV: 'test' },
);

class Routes {
  open() {}
  @SetMetadata(FRESH_SESSION_KEY, 300_000) sensitive() {}
  @SetMetadata(FRESH_SESSION_KEY, 300_000) @SetMetadata(IS_PUBLIC_KEY, true) sensitiveButPublic() {}
}

function token(authTimeS: number | undefined): { token: string; claims: AccessClaims } {
  const claims: AccessClaims = { iss: 'i', aud: 'a', sub: 'u1', sid: '11111111-1111-4111-8111-111111111111', jti: 'j', iat: NOW / 1000, exp: NOW / 1000 + 600, roles: [], auth_time: authTimeS };
  return { token: `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`, claims };
}

function setup() {
  const known = new Map<string, AccessClaims>();
  const strategy = { verifyToken: jest.fn(async (t: string) => known.get(t) ?? Promise.reject(new UnauthenticatedError())) } as unknown as SessionJwtStrategy;
  const sessions = { isKnownLive: () => true, assertLive: async () => undefined } as unknown as SessionService;
  const guard = new FreshSessionGuard(new Reflector(), options, sessions, new SessionCredentials(options), strategy);
  const context = (handler: keyof Routes, authTimeS?: number | null) => {
    const headers: Record<string, string> = {};
    if (authTimeS !== null) {
      const t = token(authTimeS);
      known.set(t.token, t.claims);
      headers.authorization = `Bearer ${t.token}`;
    }
    const req: Record<string, unknown> = { method: 'POST', headers };
    return {
      req,
      context: { getHandler: () => Routes.prototype[handler], getClass: () => Routes, switchToHttp: () => ({ getRequest: () => req }) } as unknown as ExecutionContext,
    };
  };
  return { guard, context };
}

async function verdict(guard: FreshSessionGuard, context: ExecutionContext): Promise<string> {
  try {
    return (await guard.canActivate(context)) ? 'pass' : 'false';
  } catch (error) {
    if (error instanceof ReauthenticationRequiredError) return 'REAUTHENTICATION_REQUIRED';
    if (error instanceof UnauthenticatedError) return 'UNAUTHENTICATED';
    return `thrown ${(error as Error).message}`;
  }
}

beforeEach(() => jest.spyOn(Date, 'now').mockReturnValue(NOW));
afterEach(() => jest.restoreAllMocks());

describe('FreshSessionGuard', () => {
  it('a route without @RequireFreshSession passes without reading a token', async () => {
    const { guard, context } = setup();
    expect(await verdict(guard, context('open', null).context)).toBe('pass');
  });

  it.each([
    ['authenticated just now', NOW / 1000, 'pass'],
    ['at maxAge exactly', (NOW - 300_000) / 1000, 'pass'],
    ['at maxAge plus the skew', (NOW - 305_000) / 1000, 'pass'],
    ['one second past maxAge plus the skew', (NOW - 306_000) / 1000, 'REAUTHENTICATION_REQUIRED'],
    ['an hour ago', (NOW - 3_600_000) / 1000, 'REAUTHENTICATION_REQUIRED'],
    ['a token without auth_time', undefined, 'REAUTHENTICATION_REQUIRED'],
  ])('%s: %s', async (_name, authTimeS, expected) => {
    const { guard, context } = setup();
    expect(await verdict(guard, context('sensitive', authTimeS as number | undefined).context)).toBe(expected);
  });

  it('authenticates by itself: no token is a 401, and the session is left on the request', async () => {
    const { guard, context } = setup();
    expect(await verdict(guard, context('sensitive', null).context)).toBe('UNAUTHENTICATED');
    const fresh = context('sensitive', NOW / 1000);
    await guard.canActivate(fresh.context);
    expect(requestSessionOf(fresh.req)?.authenticatedAt).toEqual(new Date(NOW));
  });

  it('@Public() does not switch the freshness check off', async () => {
    const { guard, context } = setup();
    expect(await verdict(guard, context('sensitiveButPublic', null).context)).toBe('UNAUTHENTICATED');
    expect(await verdict(guard, context('sensitiveButPublic', (NOW - 3_600_000) / 1000).context)).toBe('REAUTHENTICATION_REQUIRED');
  });

  it('the refusal asks the user to confirm who they are', async () => {
    const { guard, context } = setup();
    const error = await Promise.resolve(guard.canActivate(context('sensitive', (NOW - 3_600_000) / 1000).context)).catch((e: unknown) => e);
    expect((error as Error).message).toBe('Confirm who you are to continue (re-authenticate).');
  });
});

describe('LoginCsrfGuard', () => {
  const request = { method: 'POST', headers: { origin: 'https://evil.example' } };
  const context = { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;

  it('passes a login its CsrfGuard allows, refuses one it does not, judging the request itself', () => {
    const isAllowedOrigin = jest.fn((req: unknown) => req === request);
    const allowing = new LoginCsrfGuard({ isAllowedOrigin } as unknown as CsrfGuard);
    expect(allowing.canActivate(context)).toBe(true);
    expect(isAllowedOrigin).toHaveBeenCalledWith(request);
    const refusing = new LoginCsrfGuard({ isAllowedOrigin: () => false } as unknown as CsrfGuard);
    expect(() => refusing.canActivate(context)).toThrow(CsrfRejectedError);
  });
});
