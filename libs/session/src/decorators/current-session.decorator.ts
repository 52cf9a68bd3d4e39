import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { authHolderOfContext } from '../http/request-of-context';
import { requestSessionOf } from '../http/request-session';
import type { SessionInfo } from '../session.types';

/**
 * The session behind the request (`{ id, userId, tokenSource, accessTokenExpiresAt }`): on an
 * HTTP route, a GraphQL resolver, or a gateway handler (`ws`: the socket's `data`).
 *
 * @example @Post() create(@CurrentSession() session: SessionInfo) { return session.id; }
 */
export const CurrentSession = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): SessionInfo | undefined => requestSessionOf(authHolderOfContext(ctx)),
);
