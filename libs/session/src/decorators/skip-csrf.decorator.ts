import { SetMetadata } from '@nestjs/common';
import { SKIP_CSRF_KEY } from '../session.constants';

/**
 * Exempts a route from `CsrfGuard` (for example a webhook that carries no auth cookie).
 *
 * @example @SkipCsrf() @Post('webhooks/payments') hook() {}
 */
export const SkipCsrf = () => SetMetadata(SKIP_CSRF_KEY, true);
