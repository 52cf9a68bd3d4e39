import type { RequestLike } from './http-types';

export interface OriginPolicy {
  /** The app's configured own origin, or null to take it from the request. */
  appOrigin: string | null;
  trustedOrigins: ReadonlySet<string>;
}

/**
 * True unless the request was started by another site (CONTRACT D5, D16). `Sec-Fetch-Site:
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
  if (site === 'same-site') return origin !== undefined && allowed(origin);
  return origin === undefined || allowed(origin);
}

/**
 * The app's own origin(s). Configured: that one. Otherwise from the request's host. The scheme
 * counts only when the request proves it: `https` is reported only for a TLS socket or by a proxy
 * the app trusts (`trust proxy`). A plain-http request may be a TLS-terminating proxy the app does
 * not trust, so both schemes of the host are its own; an attacker's page cannot choose the Origin
 * a browser sends, so this admits no other site.
 */
function ownOrigins(req: RequestLike, policy: OriginPolicy): string[] {
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
