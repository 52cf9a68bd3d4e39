import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { resolveSessionOptions } from '../resolve-options';
import type { SessionModuleOptions } from '../session.options';
import type { SessionLiveness } from '../revocation/session-liveness';
import { SessionHealthIndicator } from './session-health.indicator';

/** The indicator on its own: a data source and a listener state the test controls. */
describe('SessionHealthIndicator', () => {
  const options = (extra: Partial<SessionModuleOptions> = {}) =>
    resolveSessionOptions({ jwtSecret: randomBytes(32), sessionSecret: randomBytes(32), loadUser: () => null, ...extra }, {}, { NODE_ENV: 'test' });
  const liveness = (connected: boolean | null) => ({ isListenerConnected: () => connected }) as unknown as SessionLiveness;
  const dataSource = (query: () => Promise<unknown>, isInitialized = true) => ({ isInitialized, query }) as unknown as DataSource;
  const indicator = (ds: DataSource, connected: boolean | null = null, extra?: Partial<SessionModuleOptions>) =>
    new SessionHealthIndicator(ds, options(extra), liveness(connected));

  it('up when SELECT 1 answers', async () => {
    let sql = '';
    const ds = dataSource(async function (this: unknown, ...args: unknown[]) {
      sql = String(args[0]);
      return [{ '?column?': 1 }];
    });
    expect(await indicator(ds).pingCheck('db')).toEqual({ db: { status: 'up' } });
    expect(sql).toBe('SELECT 1');
  });

  it('a failing query is down with a fixed reason, never its message', async () => {
    const ds = dataSource(() => Promise.reject(new Error('connect ECONNREFUSED postgres://user:secret@db:5432/app')));
    const result = await indicator(ds).pingCheck('db');
    expect(result).toEqual({ db: { status: 'down', reason: 'unavailable' } });
    expect(JSON.stringify(result)).not.toMatch(/secret|ECONNREFUSED|postgres/);
  });

  it('a data source that is not initialised (destroyed) is down without a query', async () => {
    const query = jest.fn();
    expect(await indicator(dataSource(query, false)).pingCheck('db')).toEqual({ db: { status: 'down', reason: 'unavailable' } });
    expect(query).not.toHaveBeenCalled();
  });

  it('a query that hangs is down when the timeout passes, not before; a late failure is swallowed', async () => {
    let fail: (e: Error) => void = () => undefined;
    const ds = dataSource(() => new Promise((_, reject) => (fail = reject)));
    const check = indicator(ds);
    // The timer, not the wall clock: a loaded machine cannot make this pass or fail.
    jest.useFakeTimers();
    try {
      let answer: unknown;
      void check.pingCheck('db', { timeout: 50 }).then((a) => (answer = a));
      await jest.advanceTimersByTimeAsync(49);
      expect(answer).toBeUndefined();
      await jest.advanceTimersByTimeAsync(1);
      expect(answer).toEqual({ db: { status: 'down', reason: 'timeout' } });
    } finally {
      jest.useRealTimers();
    }
    fail(new Error('late')); // no unhandled rejection
    await new Promise((r) => setImmediate(r));
  });

  it('the revocation listener: connected, disconnected, or not applicable', () => {
    const ds = dataSource(() => Promise.resolve([]));
    expect(indicator(ds, true).revocationListenerCheck('rl')).toEqual({ rl: { status: 'up', listener: 'connected', transport: 'postgres' } });
    expect(indicator(ds, false).revocationListenerCheck('rl')).toEqual({ rl: { status: 'down', listener: 'disconnected', transport: 'postgres' } });
    expect(indicator(ds, false, { revocation: { bus: { redis: 'redis://127.0.0.1:6379' } } }).revocationListenerCheck('rl')).toEqual({
      rl: { status: 'down', listener: 'disconnected', transport: 'redis' },
    });
    expect(indicator(ds, null).revocationListenerCheck('rl')).toEqual({ rl: { status: 'up', listener: 'not-applicable' } });
    expect(indicator(ds, null, { revocation: { bus: 'none' } }).revocationListenerCheck('rl')).toEqual({ rl: { status: 'up', listener: 'not-applicable' } });
  });
});
