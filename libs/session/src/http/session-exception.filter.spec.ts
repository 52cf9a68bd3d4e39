import type { ArgumentsHost } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { SessionStoreUnavailableError } from '../errors/session-error';
import { SessionGraphQLError } from '../graphql/session-graphql-error';
import { SessionExceptionFilter } from './session-exception.filter';

function hostOf(type: 'http' | 'graphql', res: object): ArgumentsHost {
  return { getType: () => type, switchToHttp: () => ({ getResponse: () => res }) } as unknown as ArgumentsHost;
}

describe('SessionExceptionFilter', () => {
  const replies: Array<{ res: object; body: unknown; status: number }> = [];
  const adapterHost = {
    httpAdapter: { isHeadersSent: () => false, reply: (res: object, body: unknown, status: number) => void replies.push({ res, body, status }) },
  } as unknown as HttpAdapterHost;
  const filter = new SessionExceptionFilter(adapterHost);
  beforeEach(() => replies.splice(0));

  it('answers a store failure on HTTP with 503 SERVICE_UNAVAILABLE and a fixed message, never the reason', () => {
    const res = {};
    filter.catch(new SessionStoreUnavailableError('connect ECONNREFUSED 10.0.0.5:5432'), hostOf('http', res));
    expect(replies).toEqual([{ res, body: { statusCode: 503, code: 'SERVICE_UNAVAILABLE', message: expect.any(String) }, status: 503 }]);
    expect(JSON.stringify(replies[0].body)).not.toContain('ECONNREFUSED');
  });

  it('returns a GraphQL error with extensions.code SERVICE_UNAVAILABLE in a resolver, and writes nothing', () => {
    const error = filter.catch(new SessionStoreUnavailableError('timeout'), hostOf('graphql', {}));
    expect(error).toBeInstanceOf(SessionGraphQLError);
    expect((error as SessionGraphQLError).extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', statusCode: 503 });
    expect(replies).toEqual([]);
  });
});
