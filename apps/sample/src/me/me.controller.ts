import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags, type SchemaObject } from '@nestjs/swagger';
import { ApiSessionAuth, CurrentSession, CurrentUser, SessionGuard, UnauthenticatedError, type SessionInfo, type SessionUser } from 'nest-sessions';
import { UsersService } from '../users/users.service';

const WHOAMI: SchemaObject = {
  type: 'object',
  required: ['id', 'roles', 'sessionId'],
  properties: { id: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } }, sessionId: { type: 'string', format: 'uuid' } },
};

@Controller()
@UseGuards(SessionGuard)
@ApiTags('me')
@ApiSessionAuth()
export class MeController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @ApiOperation({ summary: 'The signed-in user' })
  @ApiOkResponse({ description: 'The user, its roles and the session of this request.', schema: { ...WHOAMI, required: ['id', 'email', 'roles', 'sessionId'], properties: { ...WHOAMI.properties, email: { type: 'string', format: 'email' } } } })
  async me(@CurrentUser() user: SessionUser, @CurrentSession() session: SessionInfo) {
    const found = await this.users.findById(user.id);
    if (!found) throw new UnauthenticatedError();
    return { id: found.id, email: found.email, roles: user.roles, sessionId: session.id };
  }

  /** From the access token's claims alone: the route the benchmarks measure. */
  @Get('whoami')
  @ApiOperation({ summary: "Who the access token's claims say the caller is" })
  @ApiOkResponse({ description: "The access token's claims.", schema: WHOAMI })
  whoami(@CurrentUser() user: SessionUser, @CurrentSession() session: SessionInfo) {
    return { id: user.id, roles: user.roles, sessionId: session.id };
  }
}
