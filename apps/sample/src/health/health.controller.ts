import { Controller, Get, HttpStatus, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../http/openapi';
import { Public, SessionHealthIndicator } from 'nest-sessions';

/** The body of a healthy answer (`{ status: 'ok', db: 'up' }`, plus the listener). */
export interface HealthBody {
  status: 'ok';
  db: 'up';
  /** `not-applicable` in stateless mode and with `REVOCATION_BUS=none` (the embedded engine). */
  revocationListener: 'up' | 'not-applicable';
}

/**
 * `GET /health` through `@nestjs/terminus` with the library's indicator: 200 while the database
 * answers and, in strict mode with a broadcast, the revocation listener is connected; otherwise
 * 503 with the usual `{ statusCode, code, message }` body, naming what is down in fixed words.
 */
@Controller('health')
@Public()
@ApiTags('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly sessions: SessionHealthIndicator,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness of the database and the revocation listener' })
  @ApiOkResponse({
    description: 'Up.',
    schema: {
      type: 'object',
      required: ['status', 'db', 'revocationListener'],
      properties: { status: { type: 'string', enum: ['ok'] }, db: { type: 'string', enum: ['up'] }, revocationListener: { type: 'string', enum: ['up', 'not-applicable'] } },
    },
  })
  @ApiErrors({ 503: ['SERVICE_UNAVAILABLE'] })
  // Not cached; terminus's Swagger schema describes its own body, not this one.
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  async check(): Promise<HealthBody> {
    try {
      const result = await this.health.check([
        () => this.sessions.pingCheck('db'),
        () => this.sessions.revocationListenerCheck('revocationListener'),
      ]);
      const listener = result.details.revocationListener.listener;
      return { status: 'ok', db: 'up', revocationListener: listener === 'not-applicable' ? 'not-applicable' : 'up' };
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const { details } = error.getResponse() as { details?: Record<string, { status?: string }> };
      const down = [
        details?.db?.status !== 'up' && 'the database does not answer',
        details?.revocationListener?.status !== 'up' && 'the revocation listener is disconnected',
      ].filter(Boolean);
      const message = down.length ? `Unavailable: ${down.join('; ')}.` : 'The service is shutting down.';
      throw new ServiceUnavailableException({ statusCode: HttpStatus.SERVICE_UNAVAILABLE, code: 'SERVICE_UNAVAILABLE', message });
    }
  }
}
