import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { SessionUser } from '../session.types';

/**
 * The authenticated user (`{ id, roles }`) of a route behind `SessionGuard`.
 *
 * @example @Get('me') me(@CurrentUser() user: SessionUser) { return user.id; }
 */
export const CurrentUser = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): SessionUser | undefined => ctx.switchToHttp().getRequest<{ user?: SessionUser }>().user,
);
