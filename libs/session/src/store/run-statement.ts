import type { LoggerService } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { SessionStoreUnavailableError } from '../errors/session-error';

/**
 * One statement on a connection of the app's pool. The driver's pool is reached through its
 * public `obtainMasterConnection()`: the hot paths (one statement per refresh or cache miss)
 * skip TypeORM's per-query QueryRunner, which cost more than the query itself (BENCHMARKS.md).
 * Other drivers go through `DataSource.query`. Failures become a plain
 * `SessionStoreUnavailableError` (the edge answers 503); parameters (hashes) are never logged.
 *
 * `name` makes it a prepared statement on each connection: the server plans it once per
 * connection instead of on every call, which halved the refresh's cost (BENCHMARKS.md §2). A
 * pooler that does not keep prepared statements (PgBouncer in transaction mode before 1.21)
 * answers "does not exist" or "already exists"; the statement has then not run, so it is sent
 * again unnamed, and every later one too.
 */
export async function runStatement<T = unknown>(dataSource: DataSource, logger: LoggerService, sql: string, params: unknown[], name?: string): Promise<T[]> {
  try {
    const driver = dataSource.driver as unknown as Partial<PgDriver>;
    if (typeof driver.obtainMasterConnection !== 'function') return normaliseRows<T>(await dataSource.query(sql, params));
    const [client, release] = await driver.obtainMasterConnection();
    try {
      const result = (await queryOnce(dataSource, client, logger, sql, params, name)) as { rows: T[] };
      release();
      return result.rows;
    } catch (error) {
      // A connection that failed mid-query is not given back for reuse.
      release(isConnectionError(error) ? error : undefined);
      throw error;
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason = typeof code === 'string' ? code : ((error as Error)?.name ?? 'unknown');
    logger.error(`session store query failed (${reason})`);
    throw new SessionStoreUnavailableError(reason);
  }
}

/** Data sources whose connections turned out not to keep prepared statements. */
const unprepared = new WeakSet<DataSource>();

async function queryOnce(dataSource: DataSource, client: PgClient, logger: LoggerService, sql: string, params: unknown[], name: string | undefined): Promise<unknown> {
  if (!name || unprepared.has(dataSource)) return client.query(sql, params);
  try {
    return await client.query({ name, text: sql, values: params });
  } catch (error) {
    const code = (error as { code?: unknown })?.code;
    // 26000: no such prepared statement; 42P05: one of that name exists already. Both come from
    // a pooler that moves a client between server connections; the statement did not run.
    if (code !== '26000' && code !== '42P05') throw error;
    unprepared.add(dataSource);
    logger.warn('the database connection does not keep prepared statements (PgBouncer in transaction mode?); using unnamed statements');
    return client.query(sql, params);
  }
}

interface PgClient {
  query(sql: string | { name: string; text: string; values: unknown[] }, params?: unknown[]): Promise<unknown>;
}

interface PgDriver {
  obtainMasterConnection(): Promise<[PgClient, (error?: unknown) => void]>;
}

/** UPDATE ... RETURNING comes back from `DataSource.query` on Postgres as [rows, count]. */
function normaliseRows<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code !== 'string' || /^(08|57)/.test(code) || code.startsWith('E');
}

/** Runs a query inside `runInTransaction`'s transaction. */
export type TransactionQuery = <T = unknown>(sql: string, params: unknown[]) => Promise<T[]>;

/**
 * Several statements in one transaction on one connection of the app's pool, committed when
 * `work` resolves and rolled back when it throws. `work` must not use the pool itself (on the
 * embedded engine, with one connection, that would wait for ever). Failures are a
 * `SessionStoreUnavailableError`, except an error `work` throws on purpose, which is rethrown.
 */
export async function runInTransaction<R>(dataSource: DataSource, logger: LoggerService, work: (query: TransactionQuery) => Promise<R>): Promise<R> {
  const runner = dataSource.createQueryRunner();
  let own: unknown = null;
  try {
    await runner.connect();
    await runner.startTransaction();
    const query: TransactionQuery = async <T>(sql: string, params: unknown[]) => normaliseRows<T>(await runner.query(sql, params));
    let result: R;
    try {
      result = await work(query);
    } catch (error) {
      own = error;
      throw error;
    }
    await runner.commitTransaction();
    return result;
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    if (error === own && !isDatabaseError(error)) throw error;
    const code = (error as { code?: unknown }).code;
    const reason = typeof code === 'string' ? code : ((error as Error)?.name ?? 'unknown');
    logger.error(`session store query failed (${reason})`);
    throw new SessionStoreUnavailableError(reason);
  } finally {
    await runner.release().catch(() => undefined);
  }
}

/** A driver or server error (it has a code), as opposed to an error of the caller's own. */
function isDatabaseError(error: unknown): boolean {
  return typeof (error as { code?: unknown })?.code === 'string' || (error as Error)?.name === 'QueryFailedError';
}
