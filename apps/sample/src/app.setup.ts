import { HttpStatus, ValidationPipe, type INestApplication } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SessionError } from 'nest-sessions';
import { sampleConfig, type SampleConfig } from './config/sample-config';
import { ErrorBodyFilter } from './http/error-body.filter';
import { notFoundOutsidePrefix } from './http/not-found-outside-prefix';
import { setupOpenApi } from './http/openapi';

export type SampleApp = NestExpressApplication | NestFastifyApplication;

/** JSON bodies above this are refused with 413 on both adapters. */
export const JSON_BODY_LIMIT_BYTES = 16 * 1024;

/**
 * What every sample app gets, whichever its adapter (`createSampleApp` in app.factory.ts calls
 * it, for `main.ts` and the end-to-end tests alike, so tests run the real thing). Fastify's
 * `trustProxy` and body limit are options of the adapter itself, set where it is made.
 */
export function configureSampleApp<T extends SampleApp>(app: T): T {
  const config = app.get<SampleConfig>(sampleConfig.KEY);
  if (config.globalPrefix) app.setGlobalPrefix(config.globalPrefix);
  if (isExpress(app)) {
    app.disable('x-powered-by');
    app.set('trust proxy', config.trustProxy);
    app.useBodyParser('json', { limit: JSON_BODY_LIMIT_BYTES });
    if (config.globalPrefix) app.use(notFoundOutsidePrefix(config.globalPrefix));
  }
  app.useGlobalFilters(new ErrorBodyFilter(app.get(HttpAdapterHost)));
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
  // none at all (the cors package would otherwise send Allow-Credentials to anyone). The methods
  // are listed because the two adapters' CORS plugins default to different sets.
  const corsAllowed = new Set(config.trustedOrigins);
  (app as INestApplication).enableCors((req: { headers: { origin?: string } }, callback: (error: Error | null, options: object) => void) => {
    const allowed = req.headers.origin !== undefined && corsAllowed.has(req.headers.origin);
    callback(
      null,
      allowed
        ? {
            origin: true,
            credentials: true,
            methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE'],
            allowedHeaders: ['content-type', 'x-csrf-token', 'authorization', 'x-session-transport', 'dpop'],
            // A DPoP client on another site reads the challenge and the next server nonce (RFC 9449 §8).
            exposedHeaders: ['www-authenticate', 'dpop-nonce'],
            maxAge: 600,
          }
        : { origin: false },
    );
  });
  // The OpenAPI document at /docs-json and Swagger UI at /docs (under the global prefix), public.
  setupOpenApi(app, config);
  app.enableShutdownHooks();
  return app;
}

function isExpress(app: SampleApp): app is NestExpressApplication {
  return app.getHttpAdapter().getType() === 'express';
}
