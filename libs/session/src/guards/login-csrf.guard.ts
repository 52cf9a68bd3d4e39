import { CanActivate, ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { SessionTelemetry } from '../telemetry/session-telemetry';
import { CsrfRejectedError } from '../errors/session-error';
import type { RequestLike } from '../http/http-types';
import { CsrfGuard } from './csrf.guard';

/**
 * Login CSRF: refuses a login (or register) that another site started, judged exactly as
 * `CsrfGuard` judges origins, so an attacker cannot sign a victim into the attacker's account.
 * A login that asks for the bearer transport (`X-Session-Transport: bearer`) is not concerned.
 * A login carries no session cookie for the token check to bind to, hence this guard. Use it
 * through `@LoginRoute()`.
 */
@Injectable()
export class LoginCsrfGuard implements CanActivate {
  /** A property, not a constructor parameter, so guards that extend this one keep their constructors. */
  @Optional() @Inject(SessionTelemetry) private readonly telemetry?: SessionTelemetry;

  constructor(protected readonly csrf: CsrfGuard) {}

  canActivate(context: ExecutionContext): boolean {
    const req = this.getRequest(context);
    // A login that asks for the bearer transport sets no cookie: the victim's browser keeps
    // nothing, so another site gains nothing by starting it; and no form can send the header.
    // That is how a front end on another site logs in (docs/csrf.md).
    const transport = req.headers['x-session-transport'];
    if (typeof transport === 'string' && transport.trim().toLowerCase() === 'bearer') return true;
    if (!this.csrf.isAllowedOrigin(req)) {
      this.telemetry?.csrfRejected();
      throw new CsrfRejectedError();
    }
    return true;
  }

  /** Where the request is (a hook for subclasses, as on `CsrfGuard`). */
  protected getRequest(context: ExecutionContext): RequestLike {
    return context.switchToHttp().getRequest<RequestLike>();
  }
}
