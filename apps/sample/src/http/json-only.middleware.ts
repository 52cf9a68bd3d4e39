import { Injectable, NestMiddleware, HttpStatus } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * JSON endpoints refuse any other body type with 415. A form, `text/plain` or multipart body is
 * what a cross-site "simple request" can send without a CORS pre-flight, so refusing them closes
 * that CSRF bypass (docs/security.md case 43).
 *
 * Plain Node request and response: on Fastify, Nest middleware gets the raw objects, not the
 * framework's, and Express's extend them.
 */
@Injectable()
export class JsonOnlyMiddleware implements NestMiddleware {
  use(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (hasBody && type !== 'application/json') {
      res.statusCode = HttpStatus.UNSUPPORTED_MEDIA_TYPE;
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(
        JSON.stringify({
          statusCode: 415,
          code: 'UNSUPPORTED_MEDIA_TYPE',
          message: 'Send a JSON body with Content-Type: application/json.',
        }),
      );
      return;
    }
    next();
  }
}
