import { CanActivate, ExecutionContext, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { UnauthenticatedError, type SessionUser } from 'nest-sessions';
import { sampleConfig, type SampleConfig } from '../config/sample-config';
import { AppError } from '../http/app-error';
import { matchServiceApiKey } from './service-api-keys';

/** The header a machine client sends its key in. Not `Authorization`, which carries a session's bearer token. */
export const API_KEY_HEADER = 'x-api-key';

/** Longer than any key anyone configures; bounds the hashing a request can cause. */
const MAX_KEY_LENGTH = 512;

/**
 * The sample's machine-to-machine credential: a key from `SERVICE_API_KEYS` in `x-api-key`
 * authenticates as `{ id: 'service:<name>', roles: ['service'] }`, the shape of a session's
 * user, so `@CurrentUser()` and `RolesGuard` treat both callers alike. No key is the library's
 * bare `UNAUTHENTICATED` (so `AnyGuard` answers with the session's reason instead); a wrong,
 * empty, doubled or oversized one is `INVALID_API_KEY`.
 *
 * A plain guard rather than a passport strategy: passport's registry is process-wide, so two
 * instances of an app in one process (tests, a multi-tenant host) would answer with whichever
 * registered its keys last. `AnyGuard` takes `AuthGuard('...')` just the same (docs/api-keys.md).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(sampleConfig.KEY) private readonly config: SampleConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined>; user?: SessionUser }>();
    const key = req.headers[API_KEY_HEADER];
    if (key === undefined) throw new UnauthenticatedError();
    const name = typeof key === 'string' && key.length > 0 && key.length <= MAX_KEY_LENGTH ? matchServiceApiKey(this.config.serviceApiKeys, key) : null;
    if (name === null) throw new AppError('INVALID_API_KEY', HttpStatus.UNAUTHORIZED, 'The API key is not valid.');
    req.user = { id: `service:${name}`, roles: ['service'] };
    return true;
  }
}
