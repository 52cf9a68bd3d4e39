import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { configureSampleApp } from './app.setup';
import { sampleConfig, type SampleConfig } from './config/sample-config';

export async function bootstrap(): Promise<NestExpressApplication> {
  const app = configureSampleApp(await NestFactory.create<NestExpressApplication>(AppModule, { bodyParser: false }));
  const { port } = app.get<SampleConfig>(sampleConfig.KEY);
  await app.listen(port, process.env.HOST ?? '127.0.0.1');
  console.log(`nest-sessions sample app listening on http://localhost:${port}`);
  return app;
}

if (require.main === module) {
  bootstrap().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
