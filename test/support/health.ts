import request from 'supertest';
import type { Server } from 'node:http';

/**
 * GET `path` until it answers `status` or `limitMs` has passed; returns the last answer. Just
 * after a start on a server, `/health` is 503 until the revocation listener has connected (a few
 * milliseconds: the app does not wait for it), and after a fault until it has reconnected.
 */
export async function healthUntil(
  server: Server | string,
  status = 200,
  { path = '/health', limitMs = 10_000, intervalMs = 20 } = {},
): Promise<request.Response> {
  const started = Date.now();
  for (;;) {
    const res = await request(server).get(path);
    if (res.status === status || Date.now() - started > limitMs) return res;
    if (intervalMs > 0) await new Promise((r) => setTimeout(r, intervalMs));
  }
}
