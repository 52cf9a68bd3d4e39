// The requests the guard benchmarks hand the guard: what Express hands Nest, made per call.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A controller method and class as Nest hands them to a guard (no metadata: not @Public). */
class BenchController {
  me() {
    return null;
  }
}

let expressPrototype;
let socket;
/**
 * A request as Express hands it to Nest: node's IncomingMessage on Express's request prototype,
 * with the fields Express's router has set by the time a guard runs. A plain object would flatter
 * the guard: adding `user` to a fresh Express request costs far more than to an object literal.
 */
function expressRequest(headers) {
  const { IncomingMessage } = require('node:http');
  const { Socket } = require('node:net');
  expressPrototype ??= require('express')().request;
  socket ??= new Socket();
  const req = new IncomingMessage(socket);
  req.method = 'GET';
  req.url = '/me';
  req.headers = headers;
  Object.setPrototypeOf(req, expressPrototype);
  Object.assign(req, { res: {}, next: () => undefined, baseUrl: '', originalUrl: '/me', params: {}, route: undefined, body: undefined });
  return req;
}

/** The ExecutionContext Nest builds for an HTTP request `req` to a route of BenchController. */
export function contextFor(req) {
  const { ExecutionContextHost } = require('@nestjs/core/helpers/execution-context-host.js');
  const ctx = new ExecutionContextHost([req, {}, () => undefined], BenchController, BenchController.prototype.me);
  ctx.setType('http');
  return ctx;
}

/** The ExecutionContext Nest builds for an HTTP GET carrying `headers`, on a request of its own. */
export const httpContext = (headers) => contextFor(expressRequest(headers));

/**
 * A string with the same characters and no link to `s`: as the HTTP parser makes every header
 * anew, so nothing (a hash, a flattened form) is left over from an earlier request.
 */
export const fresh = (s) => Buffer.from(s, 'latin1').toString('latin1');

export const cookieContext = (options, token) =>
  httpContext({ host: fresh('localhost'), cookie: fresh(`${options.cookies.accessName}=${token}; ${options.cookies.csrfName}=${'c'.repeat(43)}`) });
export const bearerContext = (token) => httpContext({ host: fresh('localhost'), authorization: fresh(`Bearer ${token}`) });
