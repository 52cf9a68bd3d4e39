import { CanActivate, Controller, ExecutionContext, Get, Injectable, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { CurrentSession, CurrentUser, Public, type SessionInfo, type SessionUser } from 'nest-sessions';

const NOBODY = '00000000-0000-4000-8000-000000000000';

/** `GET /whoami`'s body, for whoever the guards left (nobody here). */
const answer = (user: SessionUser | undefined, session: SessionInfo | undefined) => ({ id: user?.id ?? NOBODY, roles: user?.roles ?? [], sessionId: session?.id ?? NOBODY });

/**
 * The least any Passport-style guard does, with no session work at all: one more guard in Nest's
 * pipeline, and a new `req.user` on the request. What is left between this route and `/whoami`
 * is the library's own work.
 */
@Injectable()
class UserOnlyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    context.switchToHttp().getRequest<{ user?: SessionUser }>().user = { id: NOBODY, roles: [] };
    return true;
  }
}

/**
 * Registered only with BENCH_ROUTES=true (`npm run bench` sets it): the benchmark's references.
 * `unguarded` is `GET /whoami` without `SessionGuard`: the same parameter decorators and a body of
 * the same shape and size (a user id and a session id are UUIDs either way), behind this app's own
 * middleware, global guards and filters, so the ratio between the two measures the guard alone.
 * `user-guard` is the same route behind `UserOnlyGuard`.
 */
@Controller('bench')
@Public()
@ApiExcludeController()
export class BenchController {
  @Get('unguarded')
  unguarded(@CurrentUser() user: SessionUser | undefined, @CurrentSession() session: SessionInfo | undefined) {
    return answer(user, session);
  }

  @Get('user-guard')
  @UseGuards(UserOnlyGuard)
  userGuard(@CurrentUser() user: SessionUser | undefined, @CurrentSession() session: SessionInfo | undefined) {
    return answer(user, session);
  }
}
