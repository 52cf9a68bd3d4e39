import type { INestApplication, LoggerService } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { DataSource } from 'typeorm';
import { createSampleApp, type SampleApp } from '../../apps/sample/src/app.factory';
import type { HttpAdapterName } from '../../apps/sample/src/config/sample-config';

/** One pair of secrets per test run, so that several app instances accept each other's tokens. */
export const TEST_JWT_SECRET = process.env.NS_TEST_JWT_SECRET ?? randomBytes(32).toString('base64url');
export const TEST_SESSION_SECRET = process.env.NS_TEST_SESSION_SECRET ?? randomBytes(32).toString('base64url');

export const BASE_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  JWT_SECRET: TEST_JWT_SECRET,
  SESSION_SECRET: TEST_SESSION_SECRET,
  LOGIN_RATE_LIMIT: '100000',
  LOGIN_ACCOUNT_RATE_LIMIT: '100000',
  REGISTER_RATE_LIMIT: '100000',
  REGISTER_ACCOUNT_RATE_LIMIT: '100000',
  REFRESH_RATE_LIMIT: '100000',
  REFRESH_SESSION_RATE_LIMIT: '100000',
};

/** Collects every line the app logs, at every level, for the no-secrets-in-logs checks. */
export class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  private push(level: string, args: unknown[]) {
    this.lines.push(`${level} ${args.map((a) => (a instanceof Error ? `${a.message}\n${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
  }
  log(...args: unknown[]) { this.push('log', args); }
  error(...args: unknown[]) { this.push('error', args); }
  warn(...args: unknown[]) { this.push('warn', args); }
  debug(...args: unknown[]) { this.push('debug', args); }
  verbose(...args: unknown[]) { this.push('verbose', args); }
  fatal(...args: unknown[]) { this.push('fatal', args); }
}

export interface TestApp {
  app: SampleApp;
  adapter: HttpAdapterName;
  server: Server;
  dataSource: DataSource;
  logger: CapturingLogger;
  close(): Promise<void>;
}

/**
 * Initialises and listens once on an ephemeral loopback port. Given a server that is not
 * listening, supertest listens and closes it around every request, and on Node 20 each close
 * also drops the idle keep-alive sockets other requests may be about to reuse (read
 * ECONNRESET). The server keeps idle sockets longer than the client's agent does, so only the
 * client ever closes one.
 */
export async function listenForTests(app: INestApplication): Promise<void> {
  await app.init();
  await app.listen(0, '127.0.0.1');
  (app.getHttpServer() as { keepAliveTimeout: number }).keepAliveTimeout = 30_000;
}

/**
 * Boots the real sample app (`createSampleApp`, as `main.ts` does: its AppModule, its setup, its
 * migrations) on the test database, with `env` on top of the base settings. The adapter is
 * `env.HTTP_ADAPTER`, else the harness's `NS_TEST_ADAPTER` (the Jest project), else Express; a
 * stray `HTTP_ADAPTER` in the shell is ignored. The environment is restored once the app has read it.
 */
export async function startApp(env: Record<string, string> = {}): Promise<TestApp> {
  const saved = { ...process.env };
  Object.assign(process.env, BASE_ENV, { HTTP_ADAPTER: process.env.NS_TEST_ADAPTER ?? 'express' }, env);
  const logger = new CapturingLogger();
  try {
    const app = await closingOnFailure(() => createSampleApp({ logger, abortOnError: false }));
    await listenForTests(app).catch(async (error: unknown) => {
      await app.close().catch(() => undefined);
      throw error;
    });
    // Test files share one database and one SESSION_SECRET (so one set of rate-limit keys): each
    // file starts with no attempts counted, as if it had the database to itself.
    await app.get(DataSource).query('DELETE FROM auth_rate_limits');
    return {
      app,
      adapter: app.getHttpAdapter().getType() as HttpAdapterName,
      server: app.getHttpServer(),
      dataSource: app.get(DataSource),
      logger,
      close: () => app.close(),
    };
  } finally {
    process.env = saved;
  }
}

/**
 * DataSources opened while an app was being created. A start that fails (a refused setting) after
 * TypeORM connected leaves no app to close, so its connection would stay open: on the embedded
 * engine, whose one backend serves one connection, every later app would then wait for it to time
 * out. This closes them.
 */
const opening = new Set<DataSource>();
const initialize = DataSource.prototype.initialize;
DataSource.prototype.initialize = async function (this: DataSource) {
  const result = await initialize.call(this);
  opening.add(this);
  return result;
};

export async function closingOnFailure<T>(create: () => Promise<T>): Promise<T> {
  opening.clear();
  try {
    return await create();
  } catch (error) {
    await Promise.all([...opening].map((ds) => (ds.isInitialized ? ds.destroy().catch(() => undefined) : undefined)));
    throw error;
  } finally {
    opening.clear();
  }
}
