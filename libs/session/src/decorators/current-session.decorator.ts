import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { REQUEST_SESSION } from '../session.constants';
import { authHolderOfContext } from '../http/request-of-context';
import type { SessionInfo } from '../session.types';

/**
 * The session behind the request (`{ id, userId, tokenSource, accessTokenExpiresAt }`): on an
 * HTTP route, a GraphQL resolver, or a gateway handler (`ws`: the socket's `data`).
 *
 * @example @Post() create(@CurrentSession() session: SessionInfo) { return session.id; }
 */
export const CurrentSession = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): SessionInfo | undefined => authHolderOfContext(ctx)?.[REQUEST_SESSION] as SessionInfo | undefined,
);
