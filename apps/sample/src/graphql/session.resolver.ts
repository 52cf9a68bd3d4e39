import { UseGuards } from '@nestjs/common';
import { Query, Resolver } from '@nestjs/graphql';
import { CurrentSession, CurrentUser, Public, Roles, RolesGuard, SessionGuard, UnauthenticatedError, type SessionInfo, type SessionUser } from 'nest-sessions';
import { UsersService } from '../users/users.service';
import { MeType } from './graphql.types';

/** `me`, `ping` (public) and `adminPing` (role `admin`): the REST routes' GraphQL twins. */
@Resolver()
@UseGuards(SessionGuard, RolesGuard)
export class SessionResolver {
  constructor(private readonly users: UsersService) {}

  @Query(() => MeType, { description: 'The signed-in user, its roles and the session of this request.' })
  async me(@CurrentUser() user: SessionUser, @CurrentSession() session: SessionInfo): Promise<MeType> {
    const found = await this.users.findById(user.id);
    if (!found) throw new UnauthenticatedError();
    return { id: found.id, email: found.email, roles: user.roles, sessionId: session.id };
  }

  @Public()
  @Query(() => String, { description: 'Open to anyone: answers "pong".' })
  ping(): string {
    return 'pong';
  }

  @Roles('admin')
  @Query(() => Boolean, { description: 'For the `admin` role only.' })
  adminPing(): boolean {
    return true;
  }
}
