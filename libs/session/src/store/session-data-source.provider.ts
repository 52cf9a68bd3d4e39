import type { Provider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SESSION_DATA_SOURCE } from '../session.constants';
import { SessionConfigError } from '../errors/session-config-error';

/**
 * The app's DataSource that holds `auth_sessions`, found by injection: the default one, one
 * named in `TypeOrmModule.forRoot({ name })`, or a DataSource object the app passes itself. A
 * missing one stops the start naming the `dataSource` option, not with Nest's generic
 * "can't resolve dependencies".
 */
export function sessionDataSourceProvider(dataSource?: string | DataSource): Provider {
  if (dataSource instanceof DataSource) return { provide: SESSION_DATA_SOURCE, useValue: dataSource };
  return {
    provide: SESSION_DATA_SOURCE,
    inject: [{ token: getDataSourceToken(dataSource), optional: true }],
    useFactory: (found: DataSource | undefined) => {
      if (found) return found;
      throw new SessionConfigError(
        dataSource === undefined
          ? 'no default TypeORM data source: import TypeOrmModule.forRoot({ … }), or set dataSource to the name of the one that holds the session tables.'
          : `dataSource: no TypeORM data source is named ${JSON.stringify(dataSource)}: register it with TypeOrmModule.forRoot({ name: ${JSON.stringify(dataSource)}, … }), or correct dataSource.`,
      );
    },
  };
}
