import { SetMetadata } from '@nestjs/common';
import { IS_PUBLIC_KEY } from '../session.constants';

/**
 * Marks a route or controller as open when `SessionGuard` is bound globally.
 *
 * @example @Public() @Get('health') health() {}
 */
export const Public = () => SetMetadata(IS_PUBLIC_KEY, true);
