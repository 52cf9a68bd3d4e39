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
          // Property names come from our DTOs, except unknown ones, which are never echoed.
          errors
            .map((e) => (e.constraints?.whitelistValidation ? 'unexpected property' : `${e.property}: ${Object.keys(e.constraints ?? { invalid: 1 }).join(', ')}`))
            .join('; ') || 'The request is invalid.',
        ),
    }),
  );
  // Only allow-listed origins get CORS headers, credentials included; every other origin gets
  // none at all (the cors package would otherwise send Allow-Credentials to anyone).
  const corsAllowed = new Set(config.trustedOrigins);
  app.enableCors((req: { headers: { origin?: string } }, callback: (error: Error | null, options: object) => void) => {
    const allowed = req.headers.origin !== undefined && corsAllowed.has(req.headers.origin);
    callback(
      null,
      allowed
        ? { origin: true, credentials: true, allowedHeaders: ['content-type', 'x-csrf-token', 'authorization', 'x-session-transport'], maxAge: 600 }
        : { origin: false },
    );
  });
  app.enableShutdownHooks();
  return app;
}
