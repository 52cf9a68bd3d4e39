import { applyDecorators, UseGuards } from '@nestjs/common';
import { LoginCsrfGuard } from '../guards/login-csrf.guard';
import { Public } from './public.decorator';
import { SkipCsrf } from './skip-csrf.decorator';

/**
 * Marks a login (or register) route: open under a global `SessionGuard`, exempt from the CSRF
 * token (a login has no session yet), and refusing requests another site started (login CSRF).
 *
 * @example @Post('login') @LoginRoute() login(@Body() dto: LoginDto) {}
 */
export const LoginRoute = () => applyDecorators(Public(), SkipCsrf(), UseGuards(LoginCsrfGuard));
