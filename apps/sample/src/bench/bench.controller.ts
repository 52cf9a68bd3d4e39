import { Controller, Get } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { CurrentSession, CurrentUser, Public, type SessionInfo, type SessionUser } from 'nest-sessions';

const NOBODY = '00000000-0000-4000-8000-000000000000';

/**
 * Registered only with BENCH_ROUTES=true (`npm run bench` sets it): the benchmark's unguarded
 * reference. It is `GET /whoami` without `SessionGuard`: the same parameter decorators and a body
 * of the same shape and size (a user id and a session id are UUIDs either way), behind this app's
 * own middleware, global guards and filters, so the ratio between the two measures the guard alone.
 */
@Controller('bench')
@Public()
@ApiExcludeController()
export class BenchController {
  @Get('unguarded')
  unguarded(@CurrentUser() user: SessionUser | undefined, @CurrentSession() session: SessionInfo | undefined) {
    return { id: user?.id ?? NOBODY, roles: user?.roles ?? [], sessionId: session?.id ?? NOBODY };
  }
}
