import type { LoggerService, LogLevel, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { configureSampleApp, JSON_BODY_LIMIT_BYTES, type SampleApp } from './app.setup';
import { loadSampleHttpConfig, type TrustProxy } from './config/sample-config';

export type { SampleApp } from './app.setup';

export interface SampleAppOptions {
  logger?: LoggerService | LogLevel[] | false;
  /** `false`: a failed start rejects (tests) instead of exiting the process. */
  abortOnError?: boolean;
}

/**
 * The configured sample app on the adapter `HTTP_ADAPTER` names, not yet listening. The adapter
 * has to exist before `NestFactory.create`, so its settings are read from `process.env` here;
 * the `sample` config namespace reads the same variables once the module compiles.
 */
export async function createSampleApp(options: SampleAppOptions = {}): Promise<SampleApp> {
  const { httpAdapter, trustProxy, tls } = loadSampleHttpConfig(process.env);
  // Express parses JSON through `useBodyParser` in configureSampleApp, under its limit; Fastify
  // through its own parser, under `bodyLimit`.
  const appOptions: NestApplicationOptions = { bodyParser: false, abortOnError: options.abortOnError, logger: options.logger };
  if (httpAdapter === 'fastify') {
    // Loaded on demand: an Express deployment never loads Fastify, and the other way round.
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    const adapter = new FastifyAdapter({
      trustProxy: fastifyTrustProxy(trustProxy),
      bodyLimit: JSON_BODY_LIMIT_BYTES,
      logger: false,
      // Express routing ignores a trailing slash (`/api/` is the page under GLOBAL_PREFIX=api).
      routerOptions: { ignoreTrailingSlash: true },
      ...(tls ? { https: tls } : {}),
    });
    return configureSampleApp(await NestFactory.create<NestFastifyApplication>(AppModule, adapter, appOptions));
  }
  const { ExpressAdapter } = await import('@nestjs/platform-express');
  return configureSampleApp(await NestFactory.create<NestExpressApplication>(AppModule, new ExpressAdapter(), { ...appOptions, ...(tls ? { httpsOptions: tls } : {}) }));
}

/**
 * Fastify takes booleans and address lists as Express does, but a bare hop count makes Fastify 5
 * trust no one (it cannot check the nearest peer): Express's meaning, the nearest n hops, is given
 * as the function Express itself compiles it to.
 */
export function fastifyTrustProxy(trust: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address: string, hop: number) => hop < trust : trust;
}
