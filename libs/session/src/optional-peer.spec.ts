import { Logger } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { SessionConfigError } from './errors/session-config-error';

/** A package that is not installed, as Node reports it. */
function notInstalled(name: string): never {
  const error = new Error(`Cannot find module '${name}'`) as Error & { code: string };
  error.code = 'MODULE_NOT_FOUND';
  throw error;
}

/** Optional peers are loaded only when used; missing, the library says what to install. */
describe('optional peers', () => {
  afterEach(() => {
    jest.resetModules();
    jest.restoreAllMocks();
  });

  it('without @nestjs/schedule the cleanup is not scheduled and one warning says what to install', () => {
    jest.doMock('@nestjs/schedule', () => notInstalled('@nestjs/schedule'));
    const warnings: string[] = [];
    jest.isolateModules(() => {
      const { Logger: IsolatedLogger } = require('@nestjs/common') as { Logger: typeof Logger };
      jest.spyOn(IsolatedLogger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
      const { SessionCleanupService } = require('./cleanup/session-cleanup.service') as typeof import('./cleanup/session-cleanup.service');
      const { resolveCleanupOptions } = require('./resolve-options') as typeof import('./resolve-options');
      const moduleRef = { get: () => { throw new Error('the registry must not be looked up'); } } as unknown as ModuleRef;
      const service = new SessionCleanupService(resolveCleanupOptions({ enabled: true }), {} as never, {} as never, moduleRef);
      expect(() => service.onApplicationBootstrap()).not.toThrow();
    });
    expect(warnings).toEqual([expect.stringContaining('@nestjs/schedule is not installed: scheduled session cleanup is off (runOnce() still works; npm install @nestjs/schedule)')]);
  });

  it('without ioredis, revocation.bus: { redis } stops the start saying what to install', () => {
    jest.doMock('ioredis', () => notInstalled('ioredis'));
    jest.isolateModules(() => {
      const { RedisRevocationTransport } = require('./revocation/redis-transport') as typeof import('./revocation/redis-transport');
      const { SessionConfigError: IsolatedError } = require('./errors/session-config-error') as { SessionConfigError: typeof SessionConfigError };
      expect(() => new RedisRevocationTransport('redis://127.0.0.1:6379', 'origin')).toThrow(IsolatedError);
      expect(() => new RedisRevocationTransport('redis://127.0.0.1:6379', 'origin')).toThrow('revocation.bus: { redis } needs the package "ioredis": npm install ioredis');
    });
  });

  it('another failure while loading a peer is not mistaken for a missing package', () => {
    jest.doMock('ioredis', () => {
      throw new TypeError('broken build');
    });
    jest.isolateModules(() => {
      const { requireOptionalPeer } = require('./optional-peer') as typeof import('./optional-peer');
      expect(() => requireOptionalPeer('ioredis', 'x')).toThrow('broken build');
    });
  });
});
