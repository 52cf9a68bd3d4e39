import { ExecutionContext, Injectable } from '@nestjs/common';
import { FRESH_SESSION_KEY } from '../session.constants';
import { requestSessionOf } from '../http/request-session';
import { ReauthenticationRequiredError } from '../errors/session-error';
import { SessionGuard } from './session.guard';

/**
 * `SessionGuard`, then the freshness `@RequireFreshSession(maxAge)` asks for: the user must have
 * proved who they are (login or `reauthenticate`) within `maxAge`, by the signed `auth_time` of
 * the access token; otherwise 401 `REAUTHENTICATION_REQUIRED`. It authenticates the request
 * itself, so it works whatever guards run before it.
 */
@Injectable()
export class FreshSessionGuard extends SessionGuard {
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const maxAgeMs = this.reflector.getAllAndOverride<number | undefined>(FRESH_SESSION_KEY, [context.getHandler(), context.getClass()]);
    if (maxAgeMs === undefined) return true;
    await super.canActivate(context);
    const session = requestSessionOf(this.getRequest(context));
    const authenticatedAt = session?.authenticatedAt?.getTime();
    if (authenticatedAt === undefined || Date.now() - authenticatedAt > maxAgeMs + this.options.clockSkewMs) {
      return this.fail(new ReauthenticationRequiredError('Confirm who you are to continue (re-authenticate).'), context);
    }
    return true;
  }

  /** A fresh-session route is never public: `@Public()` does not switch the check off. */
  protected override isPublic(): boolean {
    return false;
  }
}
