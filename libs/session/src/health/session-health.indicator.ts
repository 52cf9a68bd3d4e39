import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { RESOLVED_SESSION_OPTIONS, SESSION_DATA_SOURCE } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { SessionLiveness } from '../revocation/session-liveness';

/**
 * One indicator's result, keyed by the name the app gives it: the shape `@nestjs/terminus`
 * expects from a health indicator (`HealthIndicatorResult`), declared here so that the library
 * needs no terminus import. Only fixed words: never an error message, SQL or a connection string.
 */
export type SessionHealthResult<Key extends string = string, Detail extends object = Record<string, unknown>> = Record<
  Key,
  { status: 'up' | 'down' } & Detail
>;

/** The details of the database check (`pingCheck`). */
export type SessionDatabaseHealth = {
  /** Why the database is reported down: it answered with an error, or not within the timeout. */
  reason?: 'unavailable' | 'timeout';
};

/** The details of the revocation listener check (`revocationListenerCheck`). */
export type SessionRevocationListenerHealth = {
  /** `not-applicable` in stateless mode and with `revocation.bus: 'none'` (reported `up`). */
  listener: 'connected' | 'disconnected' | 'not-applicable';
  /** The broadcast transport, when there is one. */
  transport?: 'postgres' | 'redis';
};

/** Options of the database check (`pingCheck`). */
export interface SessionPingCheckOptions {
  /** How long `SELECT 1` may take before the database counts as down, in ms. Default 1000. */
  timeout?: number;
}

/** `pingCheck`'s default timeout, in ms. */
const DEFAULT_PING_TIMEOUT_MS = 1_000;

/**
 * Health of what sessions depend on, for `@nestjs/terminus` (an optional peer: nothing here
 * imports it, so the library loads without it). Provided and exported by `SessionModule`.
 *
 * - `pingCheck(key)`: the session database answers a `SELECT 1`, through the data source that
 *   holds `auth_sessions`, within a short timeout.
 * - `revocationListenerCheck(key)`: in strict mode with a broadcast (`revocation.bus: 'postgres'`
 *   or `{ redis }`), whether this instance's listener is connected right now. While it is away,
 *   revocations made on other instances reach this one only within the cache TTL. Stateless mode
 *   and `revocation.bus: 'none'` have no listener: reported `up`, `listener: 'not-applicable'`.
 *
 * @example
 * \@Get('health') \@HealthCheck()
 * check() {
 *   return this.health.check([
 *     () => this.sessions.pingCheck('db'),
 *     () => this.sessions.revocationListenerCheck('revocationListener'),
 *   ]);
 * }
 */
@Injectable()
export class SessionHealthIndicator {
  constructor(
    @Inject(SESSION_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly liveness: SessionLiveness,
  ) {}

  /** The session database answers `SELECT 1` within `timeout` ms (default 1000). Never throws. */
  async pingCheck<const Key extends string>(key: Key, options: SessionPingCheckOptions = {}): Promise<SessionHealthResult<Key, SessionDatabaseHealth>> {
    const timeoutMs = options.timeout ?? DEFAULT_PING_TIMEOUT_MS;
    if (!this.dataSource.isInitialized) return result(key, 'down', { reason: 'unavailable' });
    let timer: NodeJS.Timeout | undefined;
    const query = this.dataSource.query('SELECT 1');
    query.catch(() => undefined); // it may fail after the timeout has answered
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      const outcome = await Promise.race([query.then(() => 'up' as const), timedOut]);
      return outcome === 'up' ? result(key, 'up', {}) : result(key, 'down', { reason: 'timeout' });
    } catch {
      return result(key, 'down', { reason: 'unavailable' });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether the revocation listener is connected now (`up` when there is none to connect). */
  revocationListenerCheck<const Key extends string>(key: Key): SessionHealthResult<Key, SessionRevocationListenerHealth> {
    const connected = this.liveness.isListenerConnected();
    const bus = this.options.revocationBus.kind;
    if (connected === null || bus === 'none') return result(key, 'up', { listener: 'not-applicable' });
    return result(key, connected ? 'up' : 'down', { listener: connected ? 'connected' : 'disconnected', transport: bus });
  }
}

function result<Key extends string, Detail extends object>(key: Key, status: 'up' | 'down', detail: Detail): SessionHealthResult<Key, Detail> {
  return { [key]: { ...detail, status } } as SessionHealthResult<Key, Detail>;
}
