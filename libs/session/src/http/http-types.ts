import type { IncomingHttpHeaders } from 'node:http';

/** The parts of a request the library reads (Express's request satisfies it). */
export interface RequestLike {
  headers: IncomingHttpHeaders;
  method?: string;
  ip?: string;
  body?: unknown;
  socket?: { remoteAddress?: string };
}

/** The parts of a response the library writes (Node's and Express's responses satisfy it). */
export interface ResponseLike {
  getHeader(name: string): number | string | string[] | undefined;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
}
