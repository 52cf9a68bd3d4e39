import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { CsrfRejectedError } from 'nest-sessions';
import { sampleConfig, type SampleConfig } from '../config/sample-config';

/**
 * Login CSRF: a login or register started by another site (Fetch Metadata, else `Origin`) is
 * refused, so an attacker cannot sign a victim into the attacker's account.
 */
@Injectable()
export class CrossSiteLoginGuard implements CanActivate {
  constructor(@Inject(sampleConfig.KEY) private readonly config: SampleConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    const site = req.headers['sec-fetch-site'];
    const origin = req.headers.origin;
    const own = this.config.appOrigin ?? `${req.protocol}://${req.headers.host}`;
    const allowed = (o: string) => o === own || this.config.trustedOrigins.includes(o);
    if (site === 'cross-site') throw new CsrfRejectedError();
    if (origin !== undefined && !allowed(origin)) throw new CsrfRejectedError();
    return true;
  }
}
