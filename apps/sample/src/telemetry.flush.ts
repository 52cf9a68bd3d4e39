import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { sampleTelemetry } from './telemetry.start';

/** At shutdown (SIGTERM), sends what the exporters still hold: the last OTLP batch would be lost. */
@Injectable()
export class TelemetryFlush implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await sampleTelemetry?.shutdown();
  }
}
