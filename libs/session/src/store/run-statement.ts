import type { LoggerService } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { SessionStoreUnavailableError } from '../errors/session-error';

/**
 * One statement on a connection of the app's own pool. The driver's pool is reached through its
 * public `obtainMasterConnection()`: the hot paths (one primary-key read per refresh or cache
 * miss) skip TypeORM's per-query QueryRunner, which cost more than the query itself
 * (BENCHMARKS.md). Other drivers go through `DataSource.query`. Failures become a plain
 * `SessionStoreUnavailableError` (the edge answers 503); parameters (hashes) are never logged.
 */
export async function runStatement<T = unknown>(dataSource: DataSource, logger: LoggerService, sql: string, params: unknown[]): Promise<T[]> {
  try {
    const driver = dataSource.driver as unknown as Partial<PgDriver>;
    if (typeof driver.obtainMasterConnection !== 'function') return normaliseRows<T>(await dataSource.query(sql, params));
    const [client, release] = await driver.obtainMasterConnection();
    try {
      const result = (await client.query(sql, params)) as { rows: T[] };
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

interface PgDriver {
  obtainMasterConnection(): Promise<[{ query(sql: string, params: unknown[]): Promise<unknown> }, (error?: unknown) => void]>;
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
