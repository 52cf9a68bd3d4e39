import { Injectable, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { SpanStatusCode, ValueType, metrics, trace, type Attributes, type Histogram, type Meter, type Observable, type ObservableCallback, type ObservableResult, type Span, type Tracer } from '@opentelemetry/api';
import { SessionEvents } from '../events/session-events';
import type { RevokeReason } from '../session.types';

/** Instrumentation scope: what a backend shows as the source of these metrics and spans. */
export const TELEMETRY_SCOPE = 'nest-sessions';

/** How long a collection waits for a gauge's query before it reports the last value. */
const QUERY_WAIT_MS = 1_000;

/** The reasons a revocation is counted under; anything else (a JavaScript caller's string) is `other`. */
const REVOKE_REASONS = new Set<string>(['logout', 'logout_all', 'revoked', 'reuse_detected', 'transport_mismatch', 'not_before', 'user_disabled', 'idle_timeout', 'absolute_timeout', 'not_delivered', 'logout_others', 'session_limit', 'password_changed'] satisfies RevokeReason[]);

/** Seconds: a guard miss is a fraction of a millisecond, a stalled refresh a few seconds. */
const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** How a refresh ended: `rotated` and `grace` answered, the rest were refused. */
export type RefreshOutcome = 'rotated' | 'grace' | 'reuse_detected' | 'theft_suspected' | 'expired' | 'revoked' | 'rate_limited' | 'invalid' | 'error';

/**
 * Which caches answered a guard decision: `hit` (a verified token, and in strict mode a session
 * the liveness cache vouches for), `session_miss` (the token was cached, the session was read),
 * `proof` (the token was cached, its DPoP proof was checked and spent), `miss` (the token was
 * verified), `none` (no token to look up).
 */
export type GuardCache = 'hit' | 'session_miss' | 'proof' | 'miss' | 'none';

/** A count kept in process and reported at collection, with its attribute set (made once). */
interface Tally {
  count: number;
  attributes: Attributes;
}

/** A revocation listener's state: `up` null when there is no listener (no bus). */
export interface ListenerReading {
  up: boolean | null;
  ageSeconds: number | null;
}

/**
 * What every session module of the process reports together. Guard decisions are counted here
 * and reported when the SDK collects (an asynchronous counter): a decision costs an integer
 * increment, where a synchronous counter hashes its attributes on every call. Admissions are kept
 * by cache so the hot path builds no key.
 */
const processView = {
  admitted: new Map<GuardCache, Tally>(),
  refused: new Map<string, Tally>(),
  caches: new Set<{ cache: 'token' | 'session'; target: WeakRef<object>; size: (target: object) => number }>(),
  listeners: new Set<() => ListenerReading>(),
};

/** A gauge's reading: a value, or values by attribute. */
type Reading = number | null | ReadonlyArray<readonly [number, Attributes]>;

/**
 * Metrics and spans through `@opentelemetry/api` only: without an SDK in the app every call is a
 * no-op. Instrument names follow the OpenTelemetry conventions under `nest_sessions.`; attributes
 * are small closed sets (never a session id, a user id, a token or a route's URL), so the number of
 * series stays fixed. The meter is taken when the module starts: an app that registers its SDK
 * later gets no metrics (start it before `NestFactory.create`, as OpenTelemetry's guides do).
 */
@Injectable()
export class SessionTelemetry implements OnModuleInit, OnApplicationShutdown {
  private readonly meter: Meter = metrics.getMeter(TELEMETRY_SCOPE);
  private readonly tracer: Tracer = trace.getTracer(TELEMETRY_SCOPE);
  private readonly started = this.meter.createCounter('nest_sessions.sessions.started', { description: 'Sessions issued (logins).', unit: '{session}', valueType: ValueType.INT });
  private readonly refreshes = this.meter.createCounter('nest_sessions.refreshes', { description: 'Refresh attempts by outcome.', unit: '{refresh}', valueType: ValueType.INT });
  private readonly revocations = this.meter.createCounter('nest_sessions.revocations', { description: 'Sessions ended before their expiry, by reason.', unit: '{session}', valueType: ValueType.INT });
  private readonly reuse = this.meter.createCounter('nest_sessions.reuse_detections', { description: 'Replayed refresh secrets (the session was revoked).', unit: '{session}', valueType: ValueType.INT });
  private readonly csrf = this.meter.createCounter('nest_sessions.csrf.rejections', { description: 'Requests refused by CsrfGuard.', unit: '{request}', valueType: ValueType.INT });
  private readonly limited = this.meter.createCounter('nest_sessions.rate_limit.refusals', { description: 'Requests refused by a rate limit, by limit.', unit: '{request}', valueType: ValueType.INT });
  private readonly socketsEnded = this.meter.createCounter('nest_sessions.sockets.ended', { description: 'Sockets disconnected because their session ended.', unit: '{socket}', valueType: ValueType.INT });
  private readonly refreshDuration = this.histogram('nest_sessions.refresh.duration', 'Time to answer a refresh, by outcome.');
  private readonly guardDuration = this.histogram('nest_sessions.guard.duration', 'Time of a guard decision the caches did not answer alone.');
  private readonly revocationLag = this.histogram('nest_sessions.revocation.lag', 'From a revocation on another instance to its cache drop here.');
  private readonly cleanupBatch = this.histogram('nest_sessions.cleanup.batch.duration', 'Time of one cleanup batch (one DELETE).');
  /** What removes this module's callbacks from the SDK. */
  private readonly registered: Array<() => void> = [];

  constructor(@Optional() private readonly events?: SessionEvents) {
    // Every module registers the same callbacks over the same process-wide state: an asynchronous
    // instrument reports the last callback's values, so each must report the whole process.
    const decisions = this.meter.createObservableCounter('nest_sessions.guard.decisions', { description: 'SessionGuard decisions by outcome and the caches that answered.', unit: '{request}', valueType: ValueType.INT });
    this.observe(decisions, (result) => {
      for (const tally of processView.admitted.values()) result.observe(tally.count, tally.attributes);
      for (const tally of processView.refused.values()) result.observe(tally.count, tally.attributes);
    });
    this.gauge('nest_sessions.cache.size', 'Entries in the verified-token caches (token) and the session liveness caches (session).', '{entry}', () => {
      const sums = new Map<string, number>();
      for (const watched of processView.caches) {
        const target = watched.target.deref();
        if (target) sums.set(watched.cache, (sums.get(watched.cache) ?? 0) + watched.size(target));
        else processView.caches.delete(watched);
      }
      return [...sums].map(([cache, sum]) => [sum, { cache }] as const);
    });
    this.gauge('nest_sessions.listener.up', 'Whether this process hears revocations from the other instances (1) or not (0); absent without a bus.', '1', () => {
      const states = [...processView.listeners].map((read) => read().up).filter((up): up is boolean => up !== null);
      return states.length === 0 ? null : Number(states.every(Boolean));
    });
    this.gauge('nest_sessions.listener.heartbeat.age', 'Seconds since this process last heard its own heartbeat on the bus.', 's', () => {
      const ages = [...processView.listeners].map((read) => read().ageSeconds).filter((age): age is number => age !== null);
      return ages.length === 0 ? null : Math.max(...ages);
    });
  }

  /** Adds a cache to `nest_sessions.cache.size` for as long as `target` lives; `size` reads it. */
  watchCache<T extends object>(cache: 'token' | 'session', target: T, size: (target: T) => number): void {
    processView.caches.add({ cache, target: new WeakRef(target), size: size as (target: object) => number });
  }

  /** Adds a revocation listener to `nest_sessions.listener.*`; returns what removes it (at shutdown). */
  watchListener(read: () => ListenerReading): () => void {
    processView.listeners.add(read);
    return () => void processView.listeners.delete(read);
  }

  onModuleInit(): void {
    // Counted from the events every path already emits, after the change committed.
    this.events?.on('revoked', (event) => this.revocations.add(1, { reason: REVOKE_REASONS.has(event.reason) ? event.reason : 'other' }));
    this.events?.on('reuse_detected', () => this.reuse.add(1));
    this.events?.on('csrf_rejected', () => this.csrfRejected());
  }

  /** A request refused by `CsrfGuard` (through its event) or `LoginCsrfGuard`. */
  csrfRejected(): void {
    this.csrf.add(1);
  }

  sessionStarted(transport: 'cookie' | 'bearer', rememberMe: boolean): void {
    this.started.add(1, { transport, remember_me: rememberMe });
  }

  refreshed(outcome: RefreshOutcome, seconds: number): void {
    const attributes = { outcome };
    this.refreshes.add(1, attributes);
    this.refreshDuration.record(seconds, attributes);
  }

  /** A guard decision; `code` is the refusal's stable error code. `seconds` only when the caches did not answer alone. */
  guardDecided(cache: GuardCache, code: string | null, seconds?: number): void {
    let tally = code === null ? processView.admitted.get(cache) : processView.refused.get(`${cache} ${code}`);
    if (!tally) {
      tally = { count: 0, attributes: code === null ? { outcome: 'allowed', cache } : { outcome: 'refused', cache, code } };
      // Caches and codes are closed sets, so these maps stay small.
      if (code === null) processView.admitted.set(cache, tally);
      else processView.refused.set(`${cache} ${code}`, tally);
    }
    tally.count += 1;
    if (seconds !== undefined) this.guardDuration.record(seconds, tally.attributes);
  }

  rateLimited(limit: string): void {
    this.limited.add(1, { limit });
  }

  socketEnded(reason: string): void {
    this.socketsEnded.add(1, { reason });
  }

  /** A revocation sent at `sentAtMs` (another instance's clock) applied here now. */
  revocationApplied(sentAtMs: number, nowMs: number): void {
    this.revocationLag.record(Math.max(0, nowMs - sentAtMs) / 1000);
  }

  cleanupBatchDone(seconds: number): void {
    this.cleanupBatch.record(seconds);
  }

  /**
   * An observable gauge read from `read` when the app's SDK collects; `read` must be cheap (a
   * field, or a value refreshed in the background).
   */
  gauge(name: string, description: string, unit: string, read: () => Reading | Promise<Reading>): void {
    const gauge = this.meter.createObservableGauge(name, { description, unit });
    this.observe(gauge, async (result: ObservableResult) => {
      const reading = await read();
      if (reading === null) return;
      if (typeof reading === 'number') result.observe(reading);
      else for (const [value, attributes] of reading) result.observe(value, attributes);
    });
  }

  /** Registers a callback until the app shuts down: a closed app's callbacks would keep it reachable. */
  private observe(instrument: Observable, callback: ObservableCallback): void {
    instrument.addCallback(callback);
    this.registered.push(() => instrument.removeCallback(callback));
  }

  onApplicationShutdown(): void {
    for (const remove of this.registered.splice(0)) remove();
  }

  /**
   * An observable gauge of a value that costs a query: read when the SDK collects, at most once
   * per `everyMs` (other collections report the last value; a failed read keeps it). Nothing runs
   * without an SDK.
   */
  gaugeFromQuery(name: string, description: string, unit: string, query: () => Promise<number>, everyMs = 60_000): void {
    let value: number | null = null;
    let readAt = -Infinity;
    let reading: Promise<void> | null = null;
    this.gauge(name, description, unit, async () => {
      if (!reading && Date.now() - readAt >= everyMs) {
        readAt = Date.now();
        reading = query().then(
          (n) => void (value = n),
          () => undefined,
        ).finally(() => (reading = null));
      }
      // A slow database must not hold the whole collection (a scrape): past a second, the last value.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([reading, new Promise((resolve) => (timer = setTimeout(resolve, QUERY_WAIT_MS)))]);
      clearTimeout(timer);
      return value;
    });
  }

  /**
   * Runs `work` in a span named `nest_sessions.<name>`, ending it with the outcome: an error's
   * stable code (never its message, which could quote a value) marks the span failed.
   */
  async span<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
    return this.tracer.startActiveSpan(`nest_sessions.${name}`, { attributes }, async (span) => {
      try {
        return await work(span);
      } catch (error) {
        const code = (error as { code?: unknown })?.code;
        span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === 'string' ? code : (error as Error)?.constructor?.name });
        throw error;
      } finally {
        span.end();
      }
    });
  }

  private histogram(name: string, description: string): Histogram {
    return this.meter.createHistogram(name, { description, unit: 's', advice: { explicitBucketBoundaries: SECONDS } });
  }
}

