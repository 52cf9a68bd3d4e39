import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { FRESH_SESSION_KEY } from '../session.constants';
import { parseDuration, type Duration } from '../duration';
import { FreshSessionGuard } from '../guards/fresh-session.guard';

/**
 * A route for sensitive actions (change a password or an email, delete the account): the user
 * must have logged in or re-authenticated (`SessionHttp.reauthenticate`) within `maxAge`, or the
 * answer is 401 `REAUTHENTICATION_REQUIRED`. Authenticates the request itself.
 *
 * @example @Post('password') @RequireFreshSession('5m') changePassword() {}
 */
export const RequireFreshSession = (maxAge: Duration) =>
  applyDecorators(SetMetadata(FRESH_SESSION_KEY, parseDuration(maxAge, 'RequireFreshSession maxAge') * 1000), UseGuards(FreshSessionGuard));
