import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { authHolderOfContext } from '../http/request-of-context';
import type { SessionUser } from '../session.types';

/**
 * The authenticated user (`{ id, roles }`) of a route behind `SessionGuard`: on an HTTP route, a
 * GraphQL resolver (the GraphQL context's request), or a gateway handler (`ws`: the socket's
 * `data`, where a socket guard leaves it).
 *
 * @example @Get('me') me(@CurrentUser() user: SessionUser) { return user.id; }
 */
export const CurrentUser = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): SessionUser | undefined => authHolderOfContext(ctx)?.user as SessionUser | undefined,
);
