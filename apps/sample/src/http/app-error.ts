import { HttpException, HttpStatus } from '@nestjs/common';

/** The codes only this app produces; the library's own codes come from `nest-sessions`. */
export type AppErrorCode = 'INVALID_CREDENTIALS' | 'EMAIL_TAKEN' | 'UNSUPPORTED_MEDIA_TYPE' | 'INVALID_API_KEY';

/** An app error with the same `{ statusCode, code, message }` body as the library's. */
export class AppError extends HttpException {
  constructor(
    readonly code: AppErrorCode,
    status: HttpStatus,
    message: string,
  ) {
    super({ statusCode: status, code, message }, status);
  }
}
