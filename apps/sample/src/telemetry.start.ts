import { startTelemetry } from './telemetry';

/** Started on import, so that `main.ts` can load it before anything else. */
export const sampleTelemetry = startTelemetry();
