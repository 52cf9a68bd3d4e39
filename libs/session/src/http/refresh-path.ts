import { RequestMethod } from '@nestjs/common';
import type { ApplicationConfig } from '@nestjs/core';
import { SessionConfigError } from '../errors/session-config-error';

/**
 * The `Path` of the refresh cookie: the refresh controller's real mount path, read from the app
 * when it starts (`/auth`, or `/api/auth` under `setGlobalPrefix('api')` unless the route is
 * excluded from the prefix). A configured path is checked against it: one that the browser would
 * never send to the refresh route stops the start, instead of ending every session at its first
 * access-token expiry.
 */
export function resolveRefreshPath(routePrefix: string, configured: string | null, appConfig?: ApplicationConfig): string {
  const mount = mountPath(routePrefix, appConfig);
  if (configured === null) return mount;
  if (!cookiePathMatches(configured, `${mount}/refresh`)) {
    throw new SessionConfigError(
      `cookies.refreshPath ${JSON.stringify(configured)} is never sent to the refresh route ${mount}/refresh` +
        `${mount === `/${routePrefix}` ? '' : ' (the global prefix included)'}; set it to ${JSON.stringify(mount)} or leave it out.`,
    );
  }
  return configured;
}

function mountPath(routePrefix: string, appConfig?: ApplicationConfig): string {
  const own = `/${routePrefix}`;
  const prefix = (appConfig?.getGlobalPrefix() ?? '').replace(/^\/+|\/+$/g, '');
  if (!prefix) return own;
  // Excluded for POST (or every method), as Nest's router decides it for the refresh route.
  const excluded = appConfig
    ?.getGlobalPrefixOptions()
    ?.exclude?.some((route) => (route.requestMethod === RequestMethod.ALL || route.requestMethod === RequestMethod.POST) && route.pathRegex?.test(`${own}/refresh`));
  return excluded ? own : `/${prefix}${own}`;
}

/** RFC 6265 §5.1.4 path-match. */
function cookiePathMatches(cookiePath: string, requestPath: string): boolean {
  if (cookiePath === requestPath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}
