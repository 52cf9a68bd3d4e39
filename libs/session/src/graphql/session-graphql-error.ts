import { type ExecutionContext, IntrinsicException } from '@nestjs/common';
import { SessionError } from '../errors/session-error';
import { contextTypeOf } from '../http/request-of-context';

/** What a GraphQL client reads in `errors[].extensions`: the library's stable code and the HTTP status it stands for. */
export interface SessionGraphQLErrorExtensions {
  code: string;
  statusCode: number;
}

/**
 * A library error as a GraphQL resolver throws it. graphql-js copies an error's `extensions`
 * into the GraphQL error it reports, so a client reads the stable code in
 * `errors[0].extensions.code` (`ACCESS_TOKEN_EXPIRED`: refresh; `UNAUTHENTICATED`,
 * `SESSION_REVOKED`…: log in again; `CSRF_REJECTED`, `FORBIDDEN`…).
 *
 * Deliberately not an `HttpException`: `@nestjs/apollo` rewrites the code of HTTP exceptions
 * from their status (every 401 would read `UNAUTHENTICATED`, a 503 `INTERNAL_SERVER_ERROR`).
 * An `IntrinsicException`, so Nest's default exception handler does not log it with a stack: it
 * is an answer, not a bug. No `graphql` import: the library runs without the package.
 */
export class SessionGraphQLError extends IntrinsicException {
  readonly extensions: SessionGraphQLErrorExtensions;

  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'SessionGraphQLError';
    this.extensions = { code, statusCode };
  }

  /** The GraphQL form of a library error: same code, status and fixed message. */
  static from(error: SessionError): SessionGraphQLError {
    const response = error.getResponse() as { message?: unknown };
    const message = typeof response?.message === 'string' ? response.message : error.message;
    return new SessionGraphQLError(error.code, error.getStatus(), message);
  }
}

/**
 * A library error in the form the context answers with: a `SessionGraphQLError` in a GraphQL
 * resolver, the `SessionError` itself over HTTP (and anywhere else). Other errors pass as they are.
 */
export function sessionErrorFor(error: unknown, context: ExecutionContext): unknown {
  return error instanceof SessionError && contextTypeOf(context) === 'graphql' ? SessionGraphQLError.from(error) : error;
}
