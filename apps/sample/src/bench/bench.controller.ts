import { Controller, Get } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from 'nest-sessions';

/**
 * Registered only with BENCH_ROUTES=true (`npm run bench` sets it): the same answer as
 * `/whoami` with no guard, so the benchmark's "unguarded" ceiling runs through this app's own
 * middleware, global guards and filters, and the ratio isolates the session guard.
 */
@Controller('bench')
@Public()
@ApiExcludeController()
export class BenchController {
  @Get('unguarded')
  unguarded() {
    return { id: '00000000-0000-4000-8000-000000000000', roles: [], sessionId: '00000000-0000-4000-8000-000000000000' };
  }
}
