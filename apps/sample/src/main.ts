import 'reflect-metadata';
// First: the SDK must be in place before `pg` loads and before the session module takes its meter.
import { sampleTelemetry } from './telemetry.start';
import { createSampleApp, type SampleApp } from './app.factory';
import { sampleConfig, type SampleConfig } from './config/sample-config';

export async function bootstrap(): Promise<SampleApp> {
  const app = await createSampleApp();
  const { port, globalPrefix, tls } = app.get<SampleConfig>(sampleConfig.KEY);
  await app.listen(port, process.env.HOST ?? '127.0.0.1');
  const adapter = app.getHttpAdapter().getType();
  const metrics = sampleTelemetry?.metricsPort ? `; metrics on http://localhost:${sampleTelemetry.metricsPort}/metrics` : '';
  console.log(`nest-sessions sample app (${adapter}) listening on ${tls ? 'https' : 'http'}://localhost:${port}${globalPrefix ? `/${globalPrefix}` : ''}${metrics}`);
  return app;
}

if (require.main === module) {
  bootstrap().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
