import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

/** What `startTelemetry` started, to stop when the app closes. */
export interface SampleTelemetry {
  /** The port of `GET /metrics`, when METRICS_PORT is set. */
  metricsPort: number | null;
  shutdown(): Promise<void>;
}

/**
 * The sample's OpenTelemetry SDK: Prometheus text at `GET /metrics` on METRICS_PORT (a port of
 * its own, so the metrics are never public by accident on the app's port), OTLP export of metrics
 * and traces when the standard OTEL_EXPORTER_OTLP_ENDPOINT is set, and `pg` spans. Neither set:
 * nothing starts, and nest-sessions' calls stay no-ops. Must run before anything loads `pg` (the
 * instrumentation patches it as it loads) and before the session module starts (it takes its
 * meter then).
 */
export function startTelemetry(env: NodeJS.ProcessEnv = process.env): SampleTelemetry | null {
  const metricsPort = parseMetricsPort(env.METRICS_PORT, env.PORT);
  const otlp = !!env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (metricsPort === null && !otlp) return null;
  const resource = resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'nest-sessions-sample' });
  const readers: MetricReader[] = [];
  if (metricsPort !== null) readers.push(new PrometheusExporter({ port: metricsPort, host: env.HOST ?? '127.0.0.1' }));
  // The OTLP exporters read OTEL_EXPORTER_OTLP_* (endpoint, headers, protocol) themselves.
  // The reader does not read OTEL_METRIC_EXPORT_INTERVAL itself (the SDK's node package would).
  const exportIntervalMillis = Number(env.OTEL_METRIC_EXPORT_INTERVAL) > 0 ? Number(env.OTEL_METRIC_EXPORT_INTERVAL) : 60_000;
  if (otlp) readers.push(new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(), exportIntervalMillis, exportTimeoutMillis: Math.min(30_000, exportIntervalMillis) }));
  const meterProvider = new MeterProvider({ resource, readers });
  metrics.setGlobalMeterProvider(meterProvider);
  const tracerProvider = otlp ? new TracerProvider({ resource, spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })] }) : null;
  if (tracerProvider) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(tracerProvider);
  }
  // Query metrics, and spans nested under the library's: statement text only, never its parameters.
  registerInstrumentations({ instrumentations: [new PgInstrumentation({ enhancedDatabaseReporting: false })] });
  return {
    metricsPort,
    shutdown: async () => {
      await Promise.allSettled([meterProvider.shutdown(), tracerProvider?.shutdown()]);
    },
  };
}

/** METRICS_PORT: a port number other than the app's own; unset or empty: no metrics endpoint. */
export function parseMetricsPort(value: string | undefined, appPort: string | undefined): number | null {
  if (value === undefined || value.trim() === '') return null;
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`METRICS_PORT must be a port number from 1 to 65535, got ${JSON.stringify(value)}.`);
  }
  if (String(port) === String(Number(appPort ?? '3000'))) {
    throw new Error('METRICS_PORT must differ from PORT: the metrics get a port of their own, kept off the public one.');
  }
  return port;
}
