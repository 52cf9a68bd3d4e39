import { Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, UseGuards } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiSessionAuth, NotFoundError, Roles, RolesGuard, SessionGuard, SessionService, toHttpError } from 'nest-sessions';
import { ApiErrors } from '../http/openapi';
import { UsersService } from '../users/users.service';

@Controller('admin')
@UseGuards(SessionGuard, RolesGuard)
@Roles('admin')
@ApiTags('admin')
@ApiSessionAuth()
export class AdminController {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionService,
  ) {}

  @Get('ping')
  @ApiOperation({ summary: 'For the `admin` role only' })
  @ApiOkResponse({ description: 'The caller is an admin.', schema: { type: 'object', required: ['pong'], properties: { pong: { type: 'boolean', enum: [true] } } } })
  @ApiErrors({ 403: ['FORBIDDEN'] })
  ping() {
    return { pong: true };
  }

  /**
   * Disables a user and ends every session of theirs at once: in strict mode their access tokens
   * are refused from the next request on, not only at their next refresh.
   */
  @Post('users/:id/disable')
  @HttpCode(204)
  @ApiOperation({ summary: 'Disable a user and end all their sessions' })
  @ApiNoContentResponse({ description: 'Disabled; every session of the user has ended.' })
  @ApiErrors({ 403: ['FORBIDDEN', 'CSRF_REJECTED'], 404: ['NOT_FOUND'] })
  async disable(@Param('id', new ParseUUIDPipe({ exceptionFactory: () => new NotFoundError() })) id: string) {
    if (!(await this.users.disable(id))) throw new NotFoundError();
    await this.sessions.revokeAllForUser(id, 'user_disabled').catch((error: unknown) => {
      throw toHttpError(error);
    });
  }
}
