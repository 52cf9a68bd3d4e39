import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { CsrfRejectedError } from '../errors/session-error';
import type { RequestLike } from '../http/http-types';
import { CsrfGuard } from './csrf.guard';

/**
 * Login CSRF: refuses a login (or register) that another site started, judged exactly as
 * `CsrfGuard` judges origins, so an attacker cannot sign a victim into the attacker's account.
 * A login carries no session cookie for the token check to bind to, hence this guard. Use it
 * through `@LoginRoute()`.
 */
@Injectable()
export class LoginCsrfGuard implements CanActivate {
  constructor(protected readonly csrf: CsrfGuard) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.csrf.isAllowedOrigin(this.getRequest(context))) throw new CsrfRejectedError();
    return true;
  }

  /** Where the request is (a hook for subclasses, as on `CsrfGuard`). */
  protected getRequest(context: ExecutionContext): RequestLike {
    return context.switchToHttp().getRequest<RequestLike>();
  }
}
