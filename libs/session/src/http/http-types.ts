import type { IncomingHttpHeaders } from 'node:http';

/** The parts of a request the library reads: Express's and Fastify's requests both have them. */
export interface RequestLike {
  headers: IncomingHttpHeaders;
  method?: string;
  ip?: string;
  /** Express and Fastify: the scheme, from `X-Forwarded-Proto` only when the app trusts its proxy. */
  protocol?: string;
  /** Express 5 and Fastify: the host, from `X-Forwarded-Host` only when the app trusts its proxy. */
  host?: string;
  body?: unknown;
  /** The path and query as received: Express's `originalUrl` (before any mount), else `url`. */
  originalUrl?: string;
  url?: string;
  socket?: { remoteAddress?: string };
}

/**
 * A platform response (Express's `Response`, Fastify's `FastifyReply`). The library writes to it
 * only through Nest's `HttpAdapterHost`, never by calling its methods.
 */
export type ResponseLike = object;
