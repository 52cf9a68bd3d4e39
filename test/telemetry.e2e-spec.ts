import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint, type MetricData } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { SessionCleanupService } from 'nest-sessions';
import { resolveSessionOptions } from '../libs/session/src/resolve-options';
import { SessionLiveness } from '../libs/session/src/revocation/session-liveness';
import { RevocationCodec } from '../libs/session/src/revocation/revocation-codec';
import type { RevocationListener, RevocationTransport } from '../libs/session/src/revocation/revocation-message';
import { SessionTelemetry } from '../libs/session/src/telemetry/session-telemetry';
import { SessionStore } from '../libs/session/src/store/session.store';
import type { AddressInfo } from 'node:net';
import { io } from 'socket.io-client';
import { startApp } from './support/app';
import { startBareApp } from './support/bare-app';
import { REFRESH, bearerLogin, setCookies } from './support/browser';

/** Collects on demand: what a Prometheus scrape or an OTLP export would read. */
class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const reader = new TestReader();
const spans = new InMemorySpanExporter();
// Registered before any app starts, as an app's SDK is (the module takes its meter at start).
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] }));

async function collect(): Promise<Map<string, MetricData>> {
  const { resourceMetrics } = await reader.collect();
  const byName = new Map<string, MetricData>();
  for (const scope of resourceMetrics.scopeMetrics) {
    if (scope.scope.name !== 'nest-sessions') continue;
    for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
  }
  return byName;
}

/** The sum of a counter's points whose attributes include `where` (or the one gauge point). */
function total(found: Map<string, MetricData>, name: string, where: Record<string, unknown> = {}): number {
  const metric = found.get(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const points = (metric.dataPoints as DataPoint<unknown>[]).filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v));
  return points.reduce((sum, p) => sum + (typeof p.value === 'number' ? p.value : (p.value as { count: number }).count), 0);
}

const cookieHeader = (res: request.Response) => setCookies(res).map((c) => `${c.name}=${c.value}`).join('; ');
const refreshCookie = (res: request.Response) => `${REFRESH}=${setCookies(res).find((c) => c.name === REFRESH)!.value}`;

afterAll(() => {
  metrics.disable();
  trace.disable();
});

describe('metrics and spans through @opentelemetry/api', () => {
  it('a scripted lifecycle shows in every counter, histogram and gauge, with closed attribute sets', async () => {
    const t = await startBareApp({
      session: { revocation: { mode: 'strict', bus: 'none' }, rateLimits: { refreshPerIp: { limit: 8, window: '1h' } } },
    });
    try {
      // Login, and a guarded read twice: verified once (a miss), then from the caches.
      const login = await request(t.server).post('/login').send({ id: 'telemetry-user' });
      expect(login.status).toBe(200);
      const jar = cookieHeader(login);
      expect((await request(t.server).get('/whoami').set('Cookie', jar)).status).toBe(200);
      expect((await request(t.server).get('/whoami').set('Cookie', jar)).status).toBe(200);
      expect((await request(t.server).get('/whoami')).status).toBe(401);

      // A rotation, the previous secret again (grace), then the one before it (reuse: revoked).
      const first = refreshCookie(login);
      const rotated = await request(t.server).post('/auth/refresh').set('Cookie', first).set('x-csrf-token', login.body.csrfToken);
      expect(rotated.status).toBe(200);
      const grace = await request(t.server).post('/auth/refresh').set('Cookie', first).set('x-csrf-token', login.body.csrfToken);
      expect(grace.status).toBe(200);
      const second = await request(t.server).post('/auth/refresh').set('Cookie', refreshCookie(rotated)).set('x-csrf-token', rotated.body.csrfToken);
      expect(second.status).toBe(200);
      const reuse = await request(t.server).post('/auth/refresh').set('Cookie', first).set('x-csrf-token', login.body.csrfToken);
      expect(reuse.body.code).toBe('SESSION_REVOKED');

      // A CSRF refusal, and a logout.
      const other = await request(t.server).post('/login').send({ id: 'telemetry-user' });
      const otherJar = cookieHeader(other);
      expect((await request(t.server).post('/notes').set('Cookie', otherJar)).status).toBe(403);
      expect((await request(t.server).post('/auth/logout').set('Cookie', otherJar).set('x-csrf-token', other.body.csrfToken)).status).toBe(204);

      // Refresh attempts with made-up tokens until the address's limit (8 per hour) answers 429.
      let limited = false;
      for (let i = 0; i < 8 && !limited; i++) {
        const res = await request(t.server).post('/auth/refresh').set('X-Session-Transport', 'bearer').send({ refreshToken: `${randomUUID()}.${'a'.repeat(43)}` });
        limited = res.status === 429;
      }
      expect(limited).toBe(true);

      const report = await t.app.get(SessionCleanupService).runOnce();
      expect(report.ran).toBe(true);

      const found = await collect();
      expect(total(found, 'nest_sessions.sessions.started', { transport: 'cookie', remember_me: true })).toBe(2);
      expect(total(found, 'nest_sessions.refreshes', { outcome: 'rotated' })).toBe(2);
      expect(total(found, 'nest_sessions.refreshes', { outcome: 'grace' })).toBe(1);
      expect(total(found, 'nest_sessions.refreshes', { outcome: 'reuse_detected' })).toBe(1);
      expect(total(found, 'nest_sessions.refreshes', { outcome: 'rate_limited' })).toBe(1);
      expect(total(found, 'nest_sessions.refreshes', { outcome: 'invalid' })).toBeGreaterThanOrEqual(1);
      expect(total(found, 'nest_sessions.refresh.duration')).toBe(total(found, 'nest_sessions.refreshes'));
      expect(total(found, 'nest_sessions.revocations', { reason: 'reuse_detected' })).toBe(1);
      expect(total(found, 'nest_sessions.revocations', { reason: 'logout' })).toBe(1);
      expect(total(found, 'nest_sessions.reuse_detections')).toBe(1);
      expect(total(found, 'nest_sessions.csrf.rejections')).toBe(1);
      expect(total(found, 'nest_sessions.rate_limit.refusals', { limit: 'refresh_ip' })).toBe(1);
      // Verified: the first read and the refused POST (the guard admits it, CsrfGuard refuses it).
      expect(total(found, 'nest_sessions.guard.decisions', { outcome: 'allowed', cache: 'miss' })).toBe(2);
      expect(total(found, 'nest_sessions.guard.decisions', { outcome: 'allowed', cache: 'hit' })).toBe(1);
      expect(total(found, 'nest_sessions.guard.decisions', { outcome: 'refused', cache: 'none', code: 'UNAUTHENTICATED' })).toBe(1);
      // Only decisions the caches did not answer alone are timed.
      expect(total(found, 'nest_sessions.guard.duration')).toBe(2);
      expect(total(found, 'nest_sessions.cleanup.batch.duration')).toBeGreaterThanOrEqual(1);
      // Gauges read from the table, which other suites share: the live count as the store counts it
      // exactly, give or take their logins meanwhile; the backlog as the store counts it too.
      const store = t.app.get(SessionStore);
      await request(t.server).post('/login').send({ id: 'telemetry-user' });
      const exact = await store.countSessions('live', 0, 1_000_000);
      expect(exact).toBeGreaterThanOrEqual(1);
      expect(Math.abs(total(found, 'nest_sessions.sessions.live') - exact)).toBeLessThanOrEqual(Math.max(50, exact / 10));
      const retentionSeconds = 7 * 24 * 3600; // the cleanup's default retention
      const backlog = await store.countSessions('backlog', retentionSeconds, 1_000_000);
      expect(Math.abs(total(found, 'nest_sessions.cleanup.backlog') - backlog)).toBeLessThanOrEqual(Math.max(50, backlog / 10));
      // This app's guard holds the tokens it verified (other apps of the process may add theirs).
      expect(total(found, 'nest_sessions.cache.size', { cache: 'token' })).toBeGreaterThanOrEqual(2);
      expect(found.get('nest_sessions.cache.size')!.dataPoints.map((p) => p.attributes.cache).sort()).toEqual(['session', 'token']);
      // No bus, no listener: the gauge reports nothing rather than a false 0.
      expect(found.get('nest_sessions.listener.up')?.dataPoints ?? []).toEqual([]);

      // Units and attribute keys are the documented ones; no point carries an id or a token.
      expect(found.get('nest_sessions.refresh.duration')!.descriptor.unit).toBe('s');
      const allowedKeys = new Set(['transport', 'remember_me', 'outcome', 'reason', 'limit', 'cache', 'code']);
      for (const metric of found.values()) {
        for (const point of metric.dataPoints as DataPoint<unknown>[]) {
          for (const key of Object.keys(point.attributes)) expect(allowedKeys).toContain(key);
        }
      }

      const names = spans.getFinishedSpans().map((s) => s.name);
      for (const name of ['nest_sessions.issue', 'nest_sessions.refresh', 'nest_sessions.logout', 'nest_sessions.cleanup']) expect(names).toContain(name);
      const failed = spans.getFinishedSpans().find((s) => s.name === 'nest_sessions.refresh' && s.status.message === 'SESSION_REVOKED');
      expect(failed).toBeDefined();
      expect(JSON.stringify(spans.getFinishedSpans().map((s) => [s.attributes, s.status]))).not.toMatch(/[A-Za-z0-9_-]{43}/);
    } finally {
      await t.close();
    }
  });

  it('an instance that applies another instance’s revocation records the lag, and reports its listener and heartbeat', async () => {
    const sessionSecret = randomBytes(32);
    const options = resolveSessionOptions({ jwtSecret: randomBytes(32), sessionSecret, loadUser: () => null, revocation: { bus: 'postgres' } }, {}, { NODE_ENV: 'test' });
    const store = { findLive: async () => ({ lastSeenAt: new Date(), expiresAt: new Date(Date.now() + 3_600_000) }), touch: async () => undefined } as unknown as SessionStore;
    const telemetry = new SessionTelemetry();
    /** A bus of one instance: connected at once, its heartbeats come straight back. */
    class LoopbackLiveness extends SessionLiveness {
      protected override createTransport(): RevocationTransport {
        let listener: RevocationListener;
        return {
          start: (l) => {
            listener = l;
            l.onConnect();
          },
          publish: async () => undefined,
          heartbeat: async (nonce) => void setImmediate(() => listener.onHeartbeat(nonce)),
          restart: () => undefined,
          close: async () => undefined,
          isConnected: () => true,
        };
      }
    }
    const liveness = new LoopbackLiveness(options, store, {} as DataSource, telemetry);
    liveness.onModuleInit();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const sid = randomUUID();
    await liveness.isLive(sid, 'u1');
    // Sent 250 ms ago by another instance, as its transport would hand it over.
    const sent = new RevocationCodec(options.revocationKeys, () => Date.now() - 250).encode({ origin: randomUUID(), sessionIds: [sid] });
    (liveness as unknown as { handlePayload(p: string): void }).handlePayload(sent);
    expect(liveness.isCachedLive(sid, 'u1')).toBe(false);
    const found = await collect();
    const lag = found.get('nest_sessions.revocation.lag')!.dataPoints[0] as DataPoint<{ count: number; sum: number }>;
    expect(lag.value.count).toBe(1);
    expect(lag.value.sum).toBeGreaterThanOrEqual(0.25);
    expect(lag.value.sum).toBeLessThan(5);
    expect(total(found, 'nest_sessions.listener.up')).toBe(1);
    expect(total(found, 'nest_sessions.listener.heartbeat.age')).toBeLessThan(5);
    await liveness.onApplicationShutdown();
  });

  it('a socket ended with its session is counted, as revoked or expired', async () => {
    const t = await startApp({ REVOCATION_CACHE_TTL: '60' });
    const earlier = await collect();
    const before = earlier.has('nest_sessions.sockets.ended') ? total(earlier, 'nest_sessions.sockets.ended', { reason: 'revoked' }) : 0;
    const url = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}/events`;
    const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 5_000, autoConnect: false });
    try {
      const login = await bearerLogin(t);
      socket.auth = { token: login.accessToken };
      socket.connect();
      await new Promise<void>((resolve, reject) => {
        socket.once('session', () => resolve());
        socket.once('connect_error', reject);
      });
      const ended = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));
      expect((await request(t.server).post('/auth/logout').send({ refreshToken: login.refreshToken })).status).toBe(204);
      await ended;
      expect(total(await collect(), 'nest_sessions.sockets.ended', { reason: 'revoked' })).toBe(before + 1);
    } finally {
      socket.close();
      await t.close();
    }
  });

  it('two session modules in one process report their decisions and listeners together', async () => {
    const found = async () => {
      const all = await collect();
      return { hits: total(all, 'nest_sessions.guard.decisions', { outcome: 'allowed', cache: 'hit' }), up: all.get('nest_sessions.listener.up')?.dataPoints.map((p) => p.value) ?? [] };
    };
    const before = (await found()).hits;
    const [one, two] = [new SessionTelemetry(), new SessionTelemetry()];
    for (let i = 0; i < 3; i++) one.guardDecided('hit', null);
    for (let i = 0; i < 4; i++) two.guardDecided('hit', null);
    // An asynchronous instrument keeps the last callback's value: each must report the whole process.
    expect((await found()).hits).toBe(before + 7);
    const unwatchUp = one.watchListener(() => ({ up: true, ageSeconds: 1 }));
    const unwatchDown = two.watchListener(() => ({ up: false, ageSeconds: 9 }));
    expect((await found()).up).toEqual([0]);
    unwatchDown();
    expect((await found()).up).toEqual([1]);
    unwatchUp();
  });
});
