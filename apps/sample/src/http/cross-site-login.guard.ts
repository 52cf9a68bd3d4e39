import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { CsrfGuard, CsrfRejectedError } from 'nest-sessions';

/**
 * Login CSRF: a login or register started by another site (Fetch Metadata, else `Origin` or
 * `Referer`, judged exactly as `CsrfGuard` judges them) is refused, so an attacker cannot sign a
 * victim into the attacker's account.
 */
@Injectable()
export class CrossSiteLoginGuard implements CanActivate {
  constructor(private readonly csrf: CsrfGuard) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.csrf.isAllowedOrigin(context.switchToHttp().getRequest<Request>())) throw new CsrfRejectedError();
    return true;
  }
}
