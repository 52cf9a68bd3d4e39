import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SessionCleanupModule, sessionEntities } from 'nest-sessions';
import { cleanupSettings } from './config/sample-config';

/**
 * What `npm run sessions:cleanup` needs: the database and the cleanup settings. Nothing here
 * signs anything, so no secret is read (DATABASE_URL is the one required variable).
 */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      useFactory: () => {
        const url = process.env.DATABASE_URL;
        if (!url) throw new Error('DATABASE_URL is not set: it names the database to clean.');
        return { type: 'postgres', url, entities: sessionEntities, synchronize: false, migrationsRun: false, logging: false, poolSize: 1 };
      },
    }),
    SessionCleanupModule.forRoot({ cleanup: { ...cleanupSettings(process.env), enabled: false } }),
  ],
})
export class CleanupModule {}
