import { Body, Controller, HttpCode, HttpStatus, Logger, Post, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags, type SchemaObject } from '@nestjs/swagger';
import { LoginRoute, SessionHttp, type RequestLike, type ResponseLike } from 'nest-sessions';
import { AuthRateLimits } from '../http/auth-rate-limits';
import { SecurityEventsService } from '../audit/security-events.service';
import { AppError } from '../http/app-error';
import { ApiErrors, BODY_ERRORS } from '../http/openapi';
import { CredentialsDto, LoginDto } from './credentials.dto';
import { UsersService } from './users.service';

const USER: SchemaObject = { type: 'object', required: ['id', 'email'], properties: { id: { type: 'string', format: 'uuid' }, email: { type: 'string', format: 'email' } } };
const DATE_TIME: SchemaObject = { type: 'string', format: 'date-time' };
const LOGGED_IN: SchemaObject = {
  type: 'object',
  required: ['user', 'csrfToken', 'accessTokenExpiresAt', 'sessionExpiresAt'],
  properties: {
    user: USER,
    csrfToken: { type: 'string', description: 'Send it in `x-csrf-token` on unsafe cookie-authenticated requests.' },
    accessTokenExpiresAt: DATE_TIME,
    sessionExpiresAt: DATE_TIME,
    accessToken: { type: 'string', description: 'Bearer transport only.' },
    refreshToken: { type: 'string', description: 'Bearer transport only.' },
  },
};

/**
 * Register and log in: the app checks credentials, then hands the user to `SessionHttp.login`,
 * which starts the session and writes it to the response. `@LoginRoute()` makes both routes
 * public, exempt from the CSRF token (they act on credentials, never on a cookie) and refuses
 * cross-site requests (login CSRF). Both are rate-limited per client address and per account.
 */
@Controller('auth')
@LoginRoute()
@ApiTags('auth')
@ApiErrors({ 400: ['VALIDATION_FAILED'], 403: ['CSRF_REJECTED'], ...BODY_ERRORS, 429: ['RATE_LIMITED'], 503: ['SERVICE_UNAVAILABLE'] })
export class AuthController {
  /** The library's security log context: a failed login sits beside `session.issued` and the rest. */
  private readonly audit = new Logger('SessionAudit');

  constructor(
    private readonly users: UsersService,
    private readonly sessionHttp: SessionHttp,
    private readonly limits: AuthRateLimits,
    private readonly securityEvents: SecurityEventsService,
  ) {}

  /** 409 for a taken email is an enumeration channel; it is rate-limited (docs/rate-limits.md). */
  @Post('register')
  @ApiOperation({ summary: 'Create an account', description: 'Emails are normalised (NFKC, lower case). A 409 tells that an email is registered: rate-limited.' })
  @ApiCreatedResponse({ description: 'Registered.', schema: USER })
  @ApiErrors({ 409: ['EMAIL_TAKEN'] })
  async register(@Body() dto: CredentialsDto, @Req() req: RequestLike, @Res({ passthrough: true }) res: ResponseLike) {
    await this.limits.register(req, res, dto.email);
    const user = await this.users.register(dto.email, dto.password);
    return { id: user.id, email: user.email };
  }

  @Post('login')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Log in',
    description: 'Starts a session: cookies (the default; tokens are not in the body), or the tokens in the body with `X-Session-Transport: bearer`.',
  })
  @ApiHeader({ name: 'X-Session-Transport', required: false, description: '`bearer`: the tokens in the body instead of cookies.', schema: { type: 'string', enum: ['bearer', 'cookie'] } })
  @ApiOkResponse({ description: 'Logged in.', schema: LOGGED_IN })
  @ApiErrors({ 401: ['INVALID_CREDENTIALS'] })
  async login(@Body() dto: LoginDto, @Req() req: RequestLike, @Res({ passthrough: true }) res: ResponseLike) {
    await this.limits.login(req, res, dto.email);
    const { user, accountId } = await this.users.verifyCredentials(dto.email, dto.password);
    if (!user) {
      // The account's id when the email has one; never the email or the password.
      this.audit.warn(JSON.stringify({ event: 'login.failed', at: new Date().toISOString(), userId: accountId, sessionId: null }));
      // The account's owner sees failed attempts on it among their security events. Written after
      // the answer, so a known email awaits nothing an unknown one does not (no timing tells them apart).
      this.securityEvents.recordInBackground(accountId, 'login.failed');
      throw new AppError('INVALID_CREDENTIALS', HttpStatus.UNAUTHORIZED, 'Invalid email or password.');
    }
    const session = await this.sessionHttp.login(req, res, { id: user.id, roles: user.roles }, { rememberMe: dto.rememberMe === true });
    return { user: { id: user.id, email: user.email }, ...session };
  }
}
