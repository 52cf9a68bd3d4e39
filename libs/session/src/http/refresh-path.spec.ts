import { RequestMethod } from '@nestjs/common';
import type { ApplicationConfig } from '@nestjs/core';
import { resolveRefreshPath } from './refresh-path';

const config = (prefix: string, exclude: Array<{ path: string; requestMethod: RequestMethod }> = []) =>
  ({
    getGlobalPrefix: () => prefix,
    getGlobalPrefixOptions: () => ({
      exclude: exclude.map((e) => ({ ...e, pathRegex: new RegExp(`^/${e.path.replace(/^\//, '')}/?$`) })),
    }),
  }) as unknown as ApplicationConfig;

describe('resolveRefreshPath', () => {
  it('is the route prefix without a global prefix, and under it with one', () => {
    expect(resolveRefreshPath('auth', null, config(''))).toBe('/auth');
    expect(resolveRefreshPath('auth', null, config('/api/'))).toBe('/api/auth');
    expect(resolveRefreshPath('session', null, config('api/v1'))).toBe('/api/v1/session');
    expect(resolveRefreshPath('auth', null, undefined)).toBe('/auth');
  });

  it('follows an exclusion of the refresh route only when it covers POST, as the router does', () => {
    expect(resolveRefreshPath('auth', null, config('api', [{ path: 'auth/refresh', requestMethod: RequestMethod.ALL }]))).toBe('/auth');
    expect(resolveRefreshPath('auth', null, config('api', [{ path: 'auth/refresh', requestMethod: RequestMethod.POST }]))).toBe('/auth');
    expect(resolveRefreshPath('auth', null, config('api', [{ path: 'auth/refresh', requestMethod: RequestMethod.GET }]))).toBe('/api/auth');
  });

  it('keeps a configured path that reaches the refresh route, by RFC 6265 path-match', () => {
    expect(resolveRefreshPath('auth', '/api', config('api'))).toBe('/api');
    expect(resolveRefreshPath('auth', '/api/auth', config('api'))).toBe('/api/auth');
    expect(resolveRefreshPath('auth', '/api/', config('api'))).toBe('/api/');
    expect(resolveRefreshPath('auth', '/', config(''))).toBe('/');
  });

  it.each(['/auth', '/ap', '/api/aut', '/api/auth/logout'])('refuses %s under the global prefix "api", saying what to set', (configured) => {
    expect(() => resolveRefreshPath('auth', configured, config('api'))).toThrow(`set it to "/api/auth" or leave it out`);
  });
});
