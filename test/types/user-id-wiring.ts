// Compiled by `npm run typecheck` (CI), never run: the wiring docs/getting-started.md shows must
// compile for an app with string ids and for one with numeric ids, on Express and on Fastify types
// (the docs' own blocks are checked by test/docs-snippets.e2e-spec.ts, with the adapter-neutral types).
import { Body, Controller, Get, HttpCode, Injectable, Module, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  CurrentSession,
  CurrentUser,
  LoginRoute,
  SessionGuard,
  SessionHttp,
  SessionModule,
  SessionService,
  type SessionInfo,
  type SessionModuleOptions,
  type SessionUser,
} from 'nest-sessions';

interface NumericUser {
  id: number;
  roles: string[];
}

@Injectable()
class NumericUsers {
  async findSessionUser(id: number): Promise<NumericUser | null> {
    return { id, roles: [] };
  }
  async verify(_email: string, _password: string): Promise<NumericUser | null> {
    return null;
  }
}

@Injectable()
class StringUsers {
  async findSessionUser(id: string): Promise<SessionUser | null> {
    return { id, roles: [] };
  }
}

const numericOptions = (users: NumericUsers): SessionModuleOptions<number> => ({
  jwtSecret: 'x',
  sessionSecret: 'y',
  loadUser: (id) => users.findSessionUser(id),
});

@Module({
  imports: [
    SessionModule.forRootAsync({ inject: [NumericUsers], useFactory: numericOptions }),
    // forRoot<number>() / forRootAsync<number>(): loadUser takes the numeric id, without annotations.
    SessionModule.forRoot<number>({ jwtSecret: 'x', sessionSecret: 'y', loadUser: (id) => ({ id: id + 1, roles: [] }) }),
    SessionModule.forRootAsync<number>({ inject: [NumericUsers], useFactory: (users: NumericUsers) => ({ jwtSecret: 'x', sessionSecret: 'y', loadUser: (id) => users.findSessionUser(id) }) }),
    SessionModule.forRootAsync({
      inject: [StringUsers],
      useFactory: (users: StringUsers) => ({ jwtSecret: 'x', sessionSecret: 'y', loadUser: (id) => users.findSessionUser(id) }),
    }),
  ],
})
export class UserIdWiringModule {}

@Controller('auth')
export class NumericAuthController {
  constructor(
    private readonly users: NumericUsers,
    private readonly sessionHttp: SessionHttp,
    private readonly sessions: SessionService,
  ) {}

  @Post('login')
  @LoginRoute()
  @HttpCode(200)
  async login(@Body() dto: { email: string; password: string }, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const user = await this.users.verify(dto.email, dto.password);
    if (!user) return null;
    return { user: { id: user.id }, ...(await this.sessionHttp.login(req, res, user)) };
  }

  @Post('fastify-login')
  @LoginRoute()
  async fastifyLogin(@Req() req: FastifyRequest, @Res({ passthrough: true }) res: FastifyReply) {
    const grant = await this.sessionHttp.login(req, res, { id: 7, roles: [] });
    const numeric: number[] = (await this.sessions.revokeAllForUser(7)).map(() => 1);
    return { ...grant, numeric };
  }

  @Get('me')
  @UseGuards(SessionGuard)
  me(@CurrentUser() user: SessionUser<number>, @CurrentSession() session: SessionInfo<number>) {
    const sum: number = user.id + session.userId;
    return { sum };
  }
}

/** forRoot<number>() really types the id: a string method on it does not compile. */
export function numericIdIsANumber() {
  // @ts-expect-error the id is a number
  return SessionModule.forRoot<number>({ jwtSecret: 'x', sessionSecret: 'y', loadUser: (id) => ({ id: id.toUpperCase(), roles: [] }) });
}
