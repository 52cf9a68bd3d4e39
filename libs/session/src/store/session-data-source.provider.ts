import type { Provider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SESSION_DATA_SOURCE } from '../session.constants';

/**
 * The app's DataSource that holds `auth_sessions`, found by injection: the default one, one
 * named in `TypeOrmModule.forRoot({ name })`, or a DataSource object the app passes itself.
 */
export function sessionDataSourceProvider(dataSource?: string | DataSource): Provider {
  if (dataSource instanceof DataSource) return { provide: SESSION_DATA_SOURCE, useValue: dataSource };
  return { provide: SESSION_DATA_SOURCE, useExisting: getDataSourceToken(dataSource) };
}
