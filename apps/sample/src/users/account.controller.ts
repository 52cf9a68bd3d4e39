import { Body, Controller, HttpCode, HttpStatus, Logger, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiSessionAuth,
  CurrentSession,
  CurrentUser,
  RequireFreshSession,
  SessionGuard,
  SessionHttp,
  SessionService,
  type RequestLike,
  type ResponseLike,
  type SessionInfo,
  type SessionUser,
} from 'nest-sessions';
import { AppError } from '../http/app-error';
import { ApiErrors } from '../http/openapi';
import { AuthRateLimits } from '../http/auth-rate-limits';
import { NewPasswordDto, PasswordDto } from './password.dto';
import { UsersService } from './users.service';
import { SecurityEventsService } from '../audit/security-events.service';

/**
 * Sensitive account actions: re-authenticate with the password, then change it within five
 * minutes (`@RequireFreshSession`). A password change ends every other session of the user.
 */
@Controller()
@ApiTags('account')
@ApiSessionAuth()
export class AccountController {
  private readonly audit = new Logger('SessionAudit');

  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionService,
    private readonly sessionHttp: SessionHttp,
    private readonly limits: AuthRateLimits,
    private readonly securityEvents: SecurityEventsService,
  ) {}

  @Post('auth/reauthenticate')
  @UseGuards(SessionGuard)
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Confirm the password again', description: 'Starts the freshness window of `@RequireFreshSession` routes; a new access token is issued.' })
  @ApiOkResponse({ description: 'Re-authenticated.' })
  @ApiErrors({ 401: ['INVALID_CREDENTIALS', 'UNAUTHENTICATED', 'SESSION_REVOKED'], 429: ['RATE_LIMITED'] })
  async reauthenticate(
    @Body() dto: PasswordDto,
    @CurrentUser() user: SessionUser,
    @CurrentSession() session: SessionInfo,
    @Req() req: RequestLike,
    @Res({ passthrough: true }) res: ResponseLike,
  ) {
    // Counted like logins to the account: a stolen session cannot guess the password without limit.
    await this.limits.reauthenticate(req, res, user.id);
    if (!(await this.users.verifyPassword(user.id, dto.password))) {
      this.audit.warn(JSON.stringify({ event: 'reauthentication.failed', at: new Date().toISOString(), userId: user.id, sessionId: session.id }));
      await this.securityEvents.record(String(user.id), 'reauthentication.failed', session.id);
      throw new AppError('INVALID_CREDENTIALS', HttpStatus.UNAUTHORIZED, 'Invalid password.');
    }
    return this.sessionHttp.reauthenticate(res, session);
  }

  @Post('account/password')
  @RequireFreshSession('5m')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Change the password', description: 'Needs a login or re-authentication in the last 5 minutes; ends every other session of the user.' })
  @ApiNoContentResponse({ description: 'Changed; the other sessions are ended.' })
  @ApiErrors({ 401: ['REAUTHENTICATION_REQUIRED', 'UNAUTHENTICATED', 'SESSION_REVOKED'] })
  async changePassword(@Body() dto: NewPasswordDto, @CurrentUser() user: SessionUser, @CurrentSession() session: SessionInfo) {
    await this.users.changePassword(user.id, dto.newPassword);
    await this.sessions.revokeOthers(user.id, session.id, 'password_changed');
  }
}
