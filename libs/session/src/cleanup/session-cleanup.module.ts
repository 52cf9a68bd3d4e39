import { Module, type DynamicModule } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { SESSION_CLEANUP_OPTIONS } from '../session.constants';
import { resolveCleanupOptions } from '../resolve-options';
import type { SessionCleanupOptions } from '../session.options';
import { SessionStore } from '../store/session.store';
import { sessionDataSourceProvider } from '../store/session-data-source.provider';
import { SessionEvents } from '../events/session-events';
import { SessionCleanupService } from './session-cleanup.service';

/**
 * Cleanup alone, for a one-off job or a separate worker: it needs the database and nothing that
 * signs (no secrets, no `loadUser`). Apps that import `SessionModule` already have the cleanup.
 *
 * @example
 * const app = await NestFactory.createApplicationContext(CleanupJobModule);
 * await app.get(SessionCleanupService).runOnce();
 */
@Module({})
export class SessionCleanupModule {
  /** The cleanup alone, for a job or CLI process that holds no session secrets. */
  static forRoot(options: { cleanup?: SessionCleanupOptions; dataSource?: string | DataSource } = {}): DynamicModule {
    return {
      module: SessionCleanupModule,
      providers: [
        { provide: SESSION_CLEANUP_OPTIONS, useValue: resolveCleanupOptions({ enabled: false, ...options.cleanup }) },
        sessionDataSourceProvider(options.dataSource),
        SessionStore,
        SessionEvents,
        SessionCleanupService,
      ],
      exports: [SessionCleanupService, SessionEvents],
    };
  }
}
