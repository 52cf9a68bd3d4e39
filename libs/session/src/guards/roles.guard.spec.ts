import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Roles } from '../decorators/roles.decorator';
import { ForbiddenError, UnauthenticatedError } from '../errors/session-error';
import type { SessionUser } from '../session.types';
import { RolesGuard } from './roles.guard';

// The sample app has one `@Roles('admin')` route behind SessionGuard, so its e2e tests never
// reach a route with several roles, one without roles, or RolesGuard without a user.
class Routes {
  @Roles('admin', 'auditor') either() {}
  @Roles() none() {}
  open() {}
}

function contextFor(handler: keyof Routes, user?: SessionUser): ExecutionContext {
  return {
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => ({ user }) }),
  } as unknown as ExecutionContext;
}

const guard = new RolesGuard(new Reflector());
const userWith = (...roles: string[]): SessionUser => ({ id: 'user-1', roles });

describe('RolesGuard', () => {
  it('admits a user who has any one of the roles the route names', () => {
    expect(guard.canActivate(contextFor('either', userWith('auditor')))).toBe(true);
    expect(guard.canActivate(contextFor('either', userWith('editor', 'admin')))).toBe(true);
  });

  it('refuses with FORBIDDEN a user who has none of them', () => {
    expect(() => guard.canActivate(contextFor('either', userWith('editor')))).toThrow(ForbiddenError);
    expect(() => guard.canActivate(contextFor('either', userWith()))).toThrow(ForbiddenError);
  });

  it('refuses with UNAUTHENTICATED, not a TypeError, when no user was authenticated', () => {
    expect(() => guard.canActivate(contextFor('either'))).toThrow(UnauthenticatedError);
  });

  it('lets every request through a route without roles, or with an empty @Roles(), user or not', () => {
    expect(guard.canActivate(contextFor('open'))).toBe(true);
    expect(guard.canActivate(contextFor('none'))).toBe(true);
    expect(guard.canActivate(contextFor('open', userWith()))).toBe(true);
  });
});
