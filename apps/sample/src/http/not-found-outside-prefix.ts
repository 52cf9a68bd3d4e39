import { NotFoundException } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Under a global prefix, Nest's Express adapter mounts its 404 handler under the prefix only, so a
 * path outside it would get Express's own HTML 404. This passes those requests to the exception
 * layer instead, for the usual `{ statusCode, code, message }`. Fastify's 404 handler already
 * covers every path.
 */
export function notFoundOutsidePrefix(prefix: string) {
  const root = `/${prefix}`;
  return (req: IncomingMessage, _res: ServerResponse, next: (error?: unknown) => void): void => {
    const path = (req.url ?? '/').split(/[?#]/)[0];
    next(path === root || path.startsWith(`${root}/`) ? undefined : new NotFoundException());
  };
}
