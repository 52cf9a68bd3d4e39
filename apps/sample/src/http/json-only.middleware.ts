import { Injectable, NestMiddleware, HttpStatus } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/**
 * JSON endpoints refuse any other body type with 415. A form, `text/plain` or multipart body is
 * what a cross-site "simple request" can send without a CORS pre-flight, so refusing them closes
 * that CSRF bypass (SECURITY case 43).
 */
@Injectable()
export class JsonOnlyMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction): void {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (hasBody && type !== 'application/json') {
      res.status(HttpStatus.UNSUPPORTED_MEDIA_TYPE).json({
        statusCode: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'Send a JSON body with Content-Type: application/json.',
      });
      return;
    }
    next();
  }
}
