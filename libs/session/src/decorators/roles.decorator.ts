import { SetMetadata } from '@nestjs/common';
import { ROLES_KEY } from '../session.constants';

/**
 * Roles a route requires (any one of them), checked by `RolesGuard`.
 *
 * @example @Roles('admin') @Get('admin/ping') ping() {}
 */
export const Roles = (...roles: string[]) => SetMetadata(ROLES_KEY, roles);
