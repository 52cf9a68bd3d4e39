import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ROLES_KEY } from '../session.constants';
import { ForbiddenError, UnauthenticatedError } from '../errors/session-error';
import type { SessionUser } from '../session.types';
import { authHolderOfContext } from '../http/request-of-context';
import { sessionErrorFor } from '../graphql/session-graphql-error';

/**
 * Allows a request when its user has at least one of the roles named by `@Roles(...)`. Bind it
 * after `SessionGuard`; the roles come from the access token, refreshed from `loadUser` at every
 * refresh, so a demotion takes effect within one access-token lifetime. Works on HTTP routes,
 * GraphQL resolvers (a refusal is a `SessionGraphQLError`, `extensions.code` `FORBIDDEN`) and
 * gateways whose guard left the user on the socket's `data`.
 *
 * @example
 * @UseGuards(SessionGuard, RolesGuard) @Roles('admin') @Get('admin/ping') ping() {}
 */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required = this.reflector.getAllAndOverride<string[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (!required || required.length === 0) return true;
    const user = authHolderOfContext(context)?.user as SessionUser | undefined;
    if (!user) throw sessionErrorFor(new UnauthenticatedError(), context);
    if (!required.some((role) => user.roles.includes(role))) throw sessionErrorFor(new ForbiddenError(), context);
    return true;
  }
}
