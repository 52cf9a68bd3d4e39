import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { SessionCleanupService } from 'nest-sessions';
import { CleanupModule } from './cleanup.module';

/**
 * `npm run sessions:cleanup`: one cleanup pass against DATABASE_URL, then exit. For operators who
 * run their own scheduler (set SESSION_CLEANUP=false on the app instances then). It needs only
 * DATABASE_URL (and reads SESSION_RETENTION and SESSION_CLEANUP_BATCH if set): no secrets.
 */
async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(CleanupModule, { logger: ['error', 'warn', 'log'] });
  try {
    const report = await app.get(SessionCleanupService).runOnce();
    console.log(JSON.stringify(report));
  } finally {
    await app.close();
  }
}

main().catch((error: unknown) => {
  console.error(`session cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
