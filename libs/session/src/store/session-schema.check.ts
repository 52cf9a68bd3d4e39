import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource, getMetadataArgsStorage } from 'typeorm';
import { RESOLVED_SESSION_OPTIONS, SESSION_DATA_SOURCE } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { SessionConfigError } from '../errors/session-config-error';
import { SessionEntity } from './session.entity';
import { SessionRateLimitEntity } from './rate-limit.entity';

/** Postgres: undefined_table, undefined_column. */
const MISSING_TABLE = '42P01';
const MISSING_COLUMN = '42703';

/**
 * At start, the data source the sessions use must have the session tables at the latest
 * migration (every column the entities declare): otherwise the first login would answer 503
 * with `42P01` in the log. Stops the start naming the data source, what is missing and the fix.
 * Other failures (the database not reachable yet) are left to the health check and the requests.
 */
@Injectable()
export class SessionSchemaCheck implements OnApplicationBootstrap {
  constructor(
    @Inject(SESSION_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.dataSource.isInitialized) return;
    const tables: Array<[string, Function]> = [['auth_sessions', SessionEntity]];
    if (this.options.rateLimits.store === 'postgres') tables.push(['auth_rate_limits', SessionRateLimitEntity]);
    for (const [table, entity] of tables) await this.check(table, columnsOf(entity));
  }

  private async check(table: string, columns: string[]): Promise<void> {
    try {
      await this.dataSource.query(`SELECT ${columns.map((c) => `"${c}"`).join(', ')} FROM "${table}" LIMIT 0`);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== MISSING_TABLE && code !== MISSING_COLUMN) return;
      const name = JSON.stringify((this.dataSource.options as { name?: string }).name ?? 'default');
      const what = code === MISSING_TABLE ? `has no table ${table}` : `has ${table} from an older migration (a column is missing)`;
      throw new SessionConfigError(
        `the data source ${name} ${what}: add sessionMigrations to its migrations and run them (migrationsRun: true does at start), ` +
          'and sessionEntities to its entities; or set dataSource to the data source that holds the session tables.',
      );
    }
  }
}

/** The columns an entity declares, as the migrations create them. */
function columnsOf(entity: Function): string[] {
  return getMetadataArgsStorage()
    .columns.filter((column) => column.target === entity)
    .map((column) => column.options.name ?? column.propertyName);
}
