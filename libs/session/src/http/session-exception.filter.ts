import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ServiceUnavailableError, SessionStoreUnavailableError } from '../errors/session-error';
import { SessionGraphQLError } from '../graphql/session-graphql-error';

/**
 * Answers a session store failure (`SessionStoreUnavailableError`, from any `SessionService` or
 * `SessionRateLimiter` call) with 503 `SERVICE_UNAVAILABLE` and a fixed message, never a 500: on
 * HTTP routes through the platform's adapter (Express or Fastify), in GraphQL resolvers as a
 * `SessionGraphQLError`. The library's routes use it; bind it for your own handlers that call the
 * library (the library's other errors are `HttpException`s already), globally or per controller.
 *
 * @example
 * providers: [{ provide: APP_FILTER, useClass: SessionExceptionFilter }]
 */
@Catch(SessionStoreUnavailableError)
export class SessionExceptionFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** Writes the 503 (HTTP) or returns the GraphQL error the GraphQL layer raises. */
  catch(_error: SessionStoreUnavailableError, host: ArgumentsHost): unknown {
    const unavailable = new ServiceUnavailableError();
    if (host.getType<string>() === 'graphql') return SessionGraphQLError.from(unavailable);
    const adapter = this.adapterHost.httpAdapter;
    const res: unknown = host.switchToHttp().getResponse();
    if (!adapter || adapter.isHeadersSent(res)) return undefined;
    adapter.reply(res, unavailable.getResponse(), unavailable.getStatus());
    return undefined;
  }
}
