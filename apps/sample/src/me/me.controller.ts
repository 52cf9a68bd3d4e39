import { Controller, Get, UseGuards } from '@nestjs/common';
import { CurrentSession, CurrentUser, SessionGuard, UnauthenticatedError, type SessionInfo, type SessionUser } from 'nest-sessions';
import { UsersService } from '../users/users.service';

@Controller()
@UseGuards(SessionGuard)
export class MeController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  async me(@CurrentUser() user: SessionUser, @CurrentSession() session: SessionInfo) {
    const found = await this.users.findById(user.id);
    if (!found) throw new UnauthenticatedError();
    return { id: found.id, email: found.email, roles: user.roles, sessionId: session.id };
  }

  /** From the access token's claims alone: the route the benchmarks measure. */
  @Get('whoami')
  whoami(@CurrentUser() user: SessionUser, @CurrentSession() session: SessionInfo) {
    return { id: user.id, roles: user.roles, sessionId: session.id };
  }
}
