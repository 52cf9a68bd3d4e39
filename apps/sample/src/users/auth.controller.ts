import { Body, Controller, HttpCode, HttpStatus, Post, Req, Res, UseGuards } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import { AuthThrottlerGuard } from '../http/auth-throttler.guard';
import type { Request, Response } from 'express';
import { Public, SessionError, SessionService, SkipCsrf } from 'nest-sessions';
import { CredentialsDto } from './credentials.dto';
import { UsersService } from './users.service';
import { CrossSiteLoginGuard } from '../http/cross-site-login.guard';

/**
 * Register and log in: the app checks credentials, then hands the user to `SessionService.issue`.
 * Both routes are rate-limited per client IP, and refuse cross-site requests (login CSRF). They
 * skip the CSRF token check: they act on the credentials in the body, never on a cookie.
 */
@Controller('auth')
@Public()
@SkipCsrf()
@UseGuards(CrossSiteLoginGuard, AuthThrottlerGuard)
export class AuthController {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionService,
  ) {}

  /** 409 for a taken email is an enumeration channel; it is rate-limited (see README). */
  @Post('register')
  @SkipThrottle({ login: true })
  async register(@Body() dto: CredentialsDto) {
    const user = await this.users.register(dto.email, dto.password);
    return { id: user.id, email: user.email };
  }

  @Post('login')
  @HttpCode(HttpStatus.OK)
  @SkipThrottle({ register: true })
  async login(@Body() dto: CredentialsDto, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const user = await this.users.verifyCredentials(dto.email, dto.password);
    if (!user) throw new SessionError('INVALID_CREDENTIALS', HttpStatus.UNAUTHORIZED, 'Invalid email or password.');
    const grant = await this.sessions.issue({ id: user.id, roles: user.roles }, { request: req, response: res });
    const { sessionId: _sid, transport: _t, ...body } = grant;
    return { user: { id: user.id, email: user.email }, ...body };
  }
}
