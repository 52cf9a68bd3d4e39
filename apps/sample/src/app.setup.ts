import { HttpStatus, ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SessionError } from 'nest-sessions';
import { sampleConfig, type SampleConfig } from './config/sample-config';
import { ErrorBodyFilter } from './http/error-body.filter';

/** What `main.ts` and the end-to-end tests both apply to the app, so tests run the real thing. */
export function configureSampleApp(app: NestExpressApplication): NestExpressApplication {
  const config = app.get<SampleConfig>(sampleConfig.KEY);
  app.disable('x-powered-by');
  app.useBodyParser('json', { limit: '16kb' });
  app.useGlobalFilters(new ErrorBodyFilter());
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      exceptionFactory: (errors) =>
        new SessionError(
          'VALIDATION_FAILED',
          HttpStatus.BAD_REQUEST,
          errors.map((e) => `${e.property}: ${Object.keys(e.constraints ?? { invalid: 1 }).join(', ')}`).join('; ') || 'The request is invalid.',
        ),
    }),
  );
  // Credentials only for the allow-listed origins; every other origin gets no CORS headers.
  app.enableCors({ origin: config.trustedOrigins, credentials: true, allowedHeaders: ['content-type', 'x-csrf-token', 'authorization', 'x-session-transport'] });
  app.enableShutdownHooks();
  return app;
}
