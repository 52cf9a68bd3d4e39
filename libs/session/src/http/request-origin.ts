import { Logger } from '@nestjs/common';
import type { RequestLike } from './http-types';

export interface OriginPolicy {
  /** The app's configured own origin, or null to take it from the request. */
  appOrigin: string | null;
  trustedOrigins: ReadonlySet<string>;
}

/**
 * True unless the request was started by another site. `Sec-Fetch-Site:
 * same-origin` is the browser's own statement and passes; `cross-site` is refused; `same-site`
 * needs an allowed origin. Otherwise an `Origin` (else `Referer`) that is present must be the app's
 * own or a trusted one. With none of these headers (curl, server-side callers) it answers true:
 * the CSRF token decides.
 */
export function isAllowedOrigin(req: RequestLike, policy: OriginPolicy): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'same-origin') return true;
  if (site === 'cross-site') return false;
  const origin = req.headers.origin ?? refererOrigin(req.headers.referer);
  const allowed = (o: string) => policy.trustedOrigins.has(o) || ownOrigins(req, policy).includes(o);
  const answer = site === 'same-site' ? origin !== undefined && allowed(origin) : origin === undefined || allowed(origin);
  if (!answer && origin !== undefined && policy.appOrigin === null) hintAtRewrittenHost(req, origin);
  return answer;
}

let hinted = false;

/**
 * A proxy that rewrites `Host` (nginx's default `proxy_set_header Host $proxy_host`) makes every
 * browser request look cross-origin unless the app reads `X-Forwarded-Host`. Said once per process
 * when the refused Origin is the forwarded host, so the refusal is not a mystery; the header values
 * stay out of the log (they are the client's).
 */
function hintAtRewrittenHost(req: RequestLike, origin: string): void {
  if (hinted) return;
  const forwarded = req.headers['x-forwarded-host'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0].trim().toLowerCase();
  if (!first || first === req.headers.host?.toLowerCase()) return;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return;
  }
  if (originHost !== first) return;
  hinted = true;
  new Logger('SessionCsrf').warn(
    'refused a browser request whose Origin is the X-Forwarded-Host, not the Host: if a proxy rewrites Host, ' +
      'set csrf.appOrigin to the public origin, or trust exactly that proxy: its addresses or hop count, never every ' +
      'client (Express: app.set(\'trust proxy\', …); Fastify: new FastifyAdapter({ trustProxy })). Without such a proxy, a client sent these headers itself.',
  );
}

/**
 * The app's own origin(s). Configured: that one. Otherwise from the request's host. The scheme
 * counts only when the request proves it: `https` is reported only for a TLS socket or by a proxy
 * the app trusts (`trust proxy`). A plain-http request may be a TLS-terminating proxy the app does
 * not trust, so both schemes of the host are its own; an attacker's page cannot choose the Origin
 * a browser sends, so this admits no other site.
 */
export function ownOrigins(req: RequestLike, policy: Pick<OriginPolicy, 'appOrigin'>): string[] {
  if (policy.appOrigin) return [policy.appOrigin];
  const host = ((typeof req.host === 'string' && req.host) || req.headers.host)?.toLowerCase();
  if (!host) return [];
  return req.protocol === 'https' ? [`https://${host}`] : [`http://${host}`, `https://${host}`];
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return 'null';
  }
}
