import type { ExecutionContext } from '@nestjs/common';

/** Nest's context types the library knows: `context.getType()`. */
export type SessionContextType = 'http' | 'graphql' | 'ws' | 'rpc';

/**
 * The context's type as Nest names it (`http`, `graphql` for `@nestjs/graphql` resolvers, `ws`
 * for gateways). A hand-made context without `getType` (a unit test's) counts as `http`.
 */
export function contextTypeOf(context: ExecutionContext): string {
  return typeof context.getType === 'function' ? context.getType<string>() : 'http';
}

/**
 * The GraphQL context object of a resolver call (what `GqlExecutionContext.getContext()`
 * returns), without importing `@nestjs/graphql`: resolvers get `(root, args, context, info)`,
 * reference resolvers `(root, context, info)`.
 */
export function graphqlContextOf(context: ExecutionContext): Record<string, unknown> | undefined {
  const args = context.getArgs();
  const ctx = args.length === 3 ? args[1] : args[2];
  return ctx && typeof ctx === 'object' ? (ctx as Record<string, unknown>) : undefined;
}

/** The resolver's `GraphQLResolveInfo` (its `operation.operation` is `query`, `mutation`…). */
export function graphqlInfoOf(context: ExecutionContext): { operation?: { operation?: string } } | undefined {
  const args = context.getArgs();
  const info = args.length === 3 ? args[2] : args[3];
  return info && typeof info === 'object' ? (info as { operation?: { operation?: string } }) : undefined;
}

/**
 * The HTTP request behind a context: the platform request for `http`; for `graphql`, the
 * request the driver put in the GraphQL context (`req` with Apollo on Express and Fastify,
 * `request` or `reply.request` with Mercurius). Undefined for a context that has none (`ws`,
 * `rpc`, a GraphQL context without a request).
 */
export function requestOfContext<T extends object = Record<string, unknown>>(context: ExecutionContext): T | undefined {
  const type = contextTypeOf(context);
  if (type === 'http') return context.switchToHttp().getRequest<T>();
  if (type === 'graphql') {
    const ctx = graphqlContextOf(context);
    if (!ctx) return undefined;
    const req = ctx.req ?? ctx.request ?? (ctx.reply as { request?: unknown } | undefined)?.request;
    return req && typeof req === 'object' ? (req as T) : undefined;
  }
  return undefined;
}

/**
 * Where `SessionGuard` leaves `user` (and, in `request-session.ts`, the session) for the handler: the
 * request for `http` and `graphql`, the socket's `data` object for `ws` (socket.io's per-socket
 * storage, `context.switchToWs().getClient().data`). Undefined when there is none.
 */
export function authHolderOfContext(context: ExecutionContext): Record<string, unknown> | undefined {
  if (contextTypeOf(context) === 'ws') {
    const client = context.switchToWs().getClient<{ data?: unknown } | undefined>();
    const data = client?.data;
    return data && typeof data === 'object' ? (data as Record<string, unknown>) : undefined;
  }
  return requestOfContext(context);
}
