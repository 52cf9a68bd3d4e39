import request from 'supertest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startAppProcess, type AppProcess } from '../support/processes';
import { PASSWORD, uniqueEmail } from '../support/browser';
import { within } from '../support/within';

interface OtlpSpan {
  name: string;
  spanId: string;
  parentSpanId?: string;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
}

/**
 * An OTLP/HTTP receiver (JSON, what the sample's `-http` exporters send): keeps every span and
 * every metric name it is sent.
 */
function otlpReceiver(): Promise<{ server: Server; url: string; spans: OtlpSpan[]; metricNames: Set<string> }> {
  const spans: OtlpSpan[] = [];
  const metricNames = new Set<string>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const json = JSON.parse(body || '{}');
      if (req.url === '/v1/traces') {
        for (const r of json.resourceSpans ?? []) for (const s of r.scopeSpans ?? []) spans.push(...(s.spans ?? []));
      } else if (req.url === '/v1/metrics') {
        for (const r of json.resourceMetrics ?? []) for (const s of r.scopeMetrics ?? []) for (const m of s.metrics ?? []) metricNames.add(m.name);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, metricNames })));
}

describe('the sample with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  let app: AppProcess;
  let receiver: Awaited<ReturnType<typeof otlpReceiver>>;

  beforeAll(async () => {
    receiver = await otlpReceiver();
    app = await startAppProcess({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRIC_EXPORT_INTERVAL: '1000', OTEL_BSP_SCHEDULE_DELAY: '200' });
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
    receiver?.server.close();
  });

  it('exports the library’s metrics and spans, with the pg queries of a refresh nested under its span', async () => {
    const email = uniqueEmail('otlp');
    expect((await request(app.url).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201);
    const login = await request(app.url).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
    expect(login.status).toBe(200);
    const refreshed = await request(app.url).post('/auth/refresh').send({ refreshToken: login.body.refreshToken });
    expect(refreshed.status).toBe(200);
    expect((await request(app.url).post('/auth/logout').send({ refreshToken: refreshed.body.refreshToken })).status).toBe(204);

    await within(15_000, async () => receiver.metricNames.has('nest_sessions.refreshes') && receiver.spans.some((s) => s.name === 'nest_sessions.logout'));
    for (const name of ['nest_sessions.sessions.started', 'nest_sessions.refreshes', 'nest_sessions.refresh.duration', 'nest_sessions.revocations']) expect(receiver.metricNames).toContain(name);
    const refresh = receiver.spans.find((s) => s.name === 'nest_sessions.refresh')!;
    expect(refresh).toBeDefined();
    const queries = receiver.spans.filter((s) => s.parentSpanId === refresh.spanId && s.attributes?.some((a) => a.key.startsWith('db.')));
    expect(queries.length).toBeGreaterThanOrEqual(1);
    expect(receiver.spans.map((s) => s.name)).toEqual(expect.arrayContaining(['nest_sessions.issue', 'nest_sessions.logout', 'nest_sessions.revoke']));
    // Statement text, never its parameters: no token, secret or id leaves with the spans.
    const exported = JSON.stringify(receiver.spans);
    for (const value of [refreshed.body.refreshToken.split('.')[1], login.body.refreshToken.split('.')[1], refreshed.body.accessToken, login.body.accessToken]) expect(exported).not.toContain(value);
    expect(receiver.spans.flatMap((s) => (s.attributes ?? []).map((a) => a.key)).filter((key) => /param|values/i.test(key))).toEqual([]);
  });

  it('flushes what its exporters hold when it is stopped (SIGTERM), before the next export would have come', async () => {
    const quiet = await otlpReceiver();
    // Exports a minute apart: only the flush at shutdown can deliver within this test.
    const short = await startAppProcess({ OTEL_EXPORTER_OTLP_ENDPOINT: quiet.url, OTEL_METRIC_EXPORT_INTERVAL: '60000', OTEL_BSP_SCHEDULE_DELAY: '60000' });
    try {
      const email = uniqueEmail('otlp-flush');
      expect((await request(short.url).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201);
      expect((await request(short.url).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 300));
      expect(quiet.metricNames.has('nest_sessions.sessions.started')).toBe(false);
      await short.stop();
      expect(short.child.signalCode === 'SIGKILL').toBe(false);
      expect(quiet.metricNames).toContain('nest_sessions.sessions.started');
      expect(quiet.spans.map((s) => s.name)).toContain('nest_sessions.issue');
    } finally {
      await short.stop();
      quiet.server.close();
    }
  });
});
