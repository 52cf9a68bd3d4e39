import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { SessionCleanupService } from 'nest-sessions';
import { AppModule } from './app.module';

/**
 * `npm run sessions:cleanup`: one cleanup pass against DATABASE_URL, then exit. For operators who
 * run their own scheduler (set SESSION_CLEANUP=false on the app instances then).
 */
async function main(): Promise<void> {
  process.env.SESSION_CLEANUP = 'false';
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn', 'log'] });
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
