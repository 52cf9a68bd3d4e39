import type { ExecutionContext } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { setRequestSession } from '../http/request-session';
import type { SessionInfo, SessionUser } from '../session.types';
import { CurrentSession } from './current-session.decorator';
import { CurrentUser } from './current-user.decorator';

// @CurrentUser() and @CurrentSession() read where SessionGuard (or a socket guard) left the user
// and the session: the request over HTTP and in a GraphQL resolver, the socket's `data` in a
// gateway. The factory is taken from the metadata the decorator writes, as Nest does.

type Factory = (data: unknown, ctx: ExecutionContext) => unknown;
function factoryOf(decorator: () => ParameterDecorator): Factory {
  class Target {
    handler(_value: unknown) {}
  }
  decorator()(Target.prototype, 'handler', 0);
  const metadata = Reflect.getMetadata(ROUTE_ARGS_METADATA, Target, 'handler') as Record<string, { factory: Factory }>;
  return Object.values(metadata)[0].factory;
}

const user: SessionUser = { id: 'user-1', roles: ['reader'] };
const session = { id: 'sid-1', userId: 'user-1', tokenSource: 'bearer' } as SessionInfo;
const holder = () => {
  const req = { headers: {}, user };
  setRequestSession(req, session);
  return req;
};

const http = (req: object) => ({ getType: () => 'http', switchToHttp: () => ({ getRequest: () => req }) }) as unknown as ExecutionContext;
const graphql = (ctx: object) => ({ getType: () => 'graphql', getArgs: () => [undefined, {}, ctx, {}] }) as unknown as ExecutionContext;
const ws = (client: object) => ({ getType: () => 'ws', switchToWs: () => ({ getClient: () => client }) }) as unknown as ExecutionContext;

describe('@CurrentUser() and @CurrentSession()', () => {
  const currentUser = factoryOf(CurrentUser);
  const currentSession = factoryOf(CurrentSession);

  it('read the HTTP request', () => {
    expect(currentUser(undefined, http(holder()))).toBe(user);
    expect(currentSession(undefined, http(holder()))).toBe(session);
    // A hand-made context without getType is HTTP.
    const bare = { switchToHttp: () => ({ getRequest: () => holder() }) } as unknown as ExecutionContext;
    expect(currentUser(undefined, bare)).toBe(user);
  });

  it("read a GraphQL context's req (Apollo), request or reply.request", () => {
    expect(currentUser(undefined, graphql({ req: holder() }))).toBe(user);
    expect(currentSession(undefined, graphql({ request: holder() }))).toBe(session);
    expect(currentUser(undefined, graphql({ reply: { request: holder() } }))).toBe(user);
    expect(currentUser(undefined, graphql({}))).toBeUndefined();
  });

  it("read a socket's data in a gateway (ws)", () => {
    expect(currentUser(undefined, ws({ data: holder() }))).toBe(user);
    expect(currentSession(undefined, ws({ data: holder() }))).toBe(session);
    expect(currentUser(undefined, ws({ data: {} }))).toBeUndefined();
    expect(currentUser(undefined, ws({}))).toBeUndefined();
  });
});
