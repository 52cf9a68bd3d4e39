import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ServiceUnavailableError, SessionGraphQLError, toHttpError } from 'nest-sessions';

type ErrorBody = { statusCode: number; code: string; message: string };

const CODE_BY_STATUS: Record<number, string> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'VALIDATION_FAILED',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

const GENERIC_MESSAGE: Record<number, string> = {
  400: 'The request is invalid.',
  401: 'Authentication required.',
  403: 'You are not allowed to do this.',
  404: 'Not found.',
  413: 'The request body is too large.',
  415: 'Send a JSON body with Content-Type: application/json.',
  429: 'Too many requests; try again later.',
};

/**
 * Every error leaves as `{ statusCode, code, message }`. Library errors already have that shape;
 * framework errors get a code from their status; anything unexpected becomes a bare 500 whose
 * log line names the error's class and code only, never its message (it may quote input or SQL).
 */
@Catch()
export class ErrorBodyFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): unknown {
    // A GraphQL resolver: the error goes back to the GraphQL layer (a returned error is raised
    // there) with the same code in `extensions.code`; there is no response to write.
    if (host.getType<string>() === 'graphql') return this.forGraphQL(exception);
    const { httpAdapter } = this.adapterHost;
    // On Fastify this is a reply from a handler, or the raw Node response from a middleware or
    // hook: the adapter writes to either.
    const res: unknown = host.switchToHttp().getResponse();
    const { status, body } = this.describe(exception);
    if (httpAdapter.isHeadersSent(res)) return;
    httpAdapter.reply(res, body, status);
  }

  /**
   * Library errors from the guards already carry `extensions.code`; any other error is described
   * as over HTTP (same code, fixed message, unexpected ones logged by class only).
   */
  private forGraphQL(exception: unknown): Error {
    const extensions = (exception as { extensions?: { code?: unknown } } | null)?.extensions;
    if (exception instanceof Error && typeof extensions?.code === 'string') return exception;
    const { body } = this.describe(exception);
    return new SessionGraphQLError(body.code, body.statusCode, body.message);
  }

  private describe(thrown: unknown): { status: number; body: ErrorBody } {
    // The library's store failures (SessionStoreUnavailableError) are a 503, as SessionExceptionFilter answers them.
    const exception = toHttpError(thrown);
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      if (typeof response === 'object' && response !== null && typeof (response as { code?: unknown }).code === 'string') {
        const r = response as { code: string; message: string };
        return { status, body: { statusCode: status, code: r.code, message: r.message } };
      }
      const code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST');
      // Framework messages may quote input: only fixed texts leave.
      return { status, body: { statusCode: status, code, message: GENERIC_MESSAGE[status] ?? 'The request failed.' } };
    }
    // Body errors that reach here unmapped: body-parser's (malformed JSON, too large, bad charset)
    // carry a 4xx `status`, Fastify's (FST_ERR_CTP_*: 400, 413, 415) a 4xx `statusCode`.
    const status = clientErrorStatus(exception);
    if (status !== undefined) {
      return { status, body: { statusCode: status, code: CODE_BY_STATUS[status] ?? 'VALIDATION_FAILED', message: GENERIC_MESSAGE[status] ?? 'The request is invalid.' } };
    }
    const name = (exception as Error)?.constructor?.name ?? 'unknown';
    const code = (exception as { code?: unknown })?.code;
    if (isDatabaseUnavailable(exception)) {
      this.logger.error(`database unavailable: ${name}${typeof code === 'string' ? ` (${code})` : ''}`);
      return { status: 503, body: new ServiceUnavailableError().getResponse() as ErrorBody };
    }
    this.logger.error(`unhandled ${name}${typeof code === 'string' ? ` (${code})` : ''}`);
    return { status: 500, body: { statusCode: 500, code: 'INTERNAL_ERROR', message: 'Something went wrong.' } };
  }
}

function clientErrorStatus(exception: unknown): number | undefined {
  const { status, statusCode } = (exception ?? {}) as { status?: unknown; statusCode?: unknown };
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' && value >= 400 && value < 500 ? value : undefined;
}

/**
 * Connection failures, timeouts and shutdowns (SQLSTATE classes 08, 53, 57; socket errors; the
 * pool's acquire timeout) mean the database is unavailable: a 503, so clients retry. Other query
 * errors are bugs and stay 500.
 */
function isDatabaseUnavailable(exception: unknown): boolean {
  const { code, message } = (exception ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (/^(08|53|57)/.test(code) || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(code))) return true;
  return typeof message === 'string' && /timeout exceeded when trying to connect|Connection terminated|Query read timeout/i.test(message);
}
