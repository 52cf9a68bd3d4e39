import { Body, Controller, HttpCode, HttpStatus, Post, Req, Res, UseGuards } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import { LoginRoute, SessionHttp, type RequestLike, type ResponseLike } from 'nest-sessions';
import { AuthThrottlerGuard } from '../http/auth-throttler.guard';
import { AppError } from '../http/app-error';
import { CredentialsDto } from './credentials.dto';
import { UsersService } from './users.service';

/**
 * Register and log in: the app checks credentials, then hands the user to `SessionHttp.login`,
 * which starts the session and writes it to the response. `@LoginRoute()` makes both routes
 * public, exempt from the CSRF token (they act on credentials, never on a cookie) and refuses
 * cross-site requests (login CSRF). Both are rate-limited per client IP.
 */
@Controller('auth')
@LoginRoute()
@UseGuards(AuthThrottlerGuard)
export class AuthController {
  constructor(
    private readonly users: UsersService,
    private readonly sessionHttp: SessionHttp,
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
  async login(@Body() dto: CredentialsDto, @Req() req: RequestLike, @Res({ passthrough: true }) res: ResponseLike) {
    const user = await this.users.verifyCredentials(dto.email, dto.password);
    if (!user) throw new AppError('INVALID_CREDENTIALS', HttpStatus.UNAUTHORIZED, 'Invalid email or password.');
    const session = await this.sessionHttp.login(req, res, { id: user.id, roles: user.roles });
    return { user: { id: user.id, email: user.email }, ...session };
  }
}
