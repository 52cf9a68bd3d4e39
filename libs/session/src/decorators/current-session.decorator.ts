import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { REQUEST_SESSION } from '../session.constants';
import type { SessionInfo } from '../session.types';

/**
 * The session behind the request (`{ id, userId, tokenSource, accessTokenExpiresAt }`).
 *
 * @example @Post() create(@CurrentSession() session: SessionInfo) { return session.id; }
 */
export const CurrentSession = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): SessionInfo | undefined =>
    ctx.switchToHttp().getRequest<Record<string, SessionInfo | undefined>>()[REQUEST_SESSION],
);
