import { SESSION_DEFAULTS } from 'nest-sessions';
import { loadSampleConfig } from '../apps/sample/src/config/sample-config';
import { parseMetricsPort } from '../apps/sample/src/telemetry';

const base = { NODE_ENV: 'test', DATABASE_URL: 'postgres://db', JWT_SECRET: 'j'.repeat(43), SESSION_SECRET: 's'.repeat(43) };

/** The sample passes SessionModule only what the environment overrides. */
describe('the sample\'s SessionModule options', () => {
  it('with no session variable set: the secrets and the CSRF origins, nothing else (the library\'s defaults apply)', () => {
    const { session } = loadSampleConfig(base);
    expect(Object.keys(session).sort()).toEqual(['csrf', 'jwtSecret', 'sessionSecret']);
    expect(session.csrf).toEqual({ trustedOrigins: [] });
  });

  it('each variable that is set becomes its option', () => {
    const { session } = loadSampleConfig({
      ...base,
      ACCESS_TOKEN_TTL: '5m',
      SESSION_IDLE_TIMEOUT: '2h',
      SESSION_REVOCATION: 'stateless',
      COOKIE_SECURE: 'false',
      SESSION_RETENTION: '1d',
      REVOCATION_BUS: 'none',
    });
    expect(session).toMatchObject({
      accessTokenTtl: 300,
      idleTimeout: 7200,
      revocation: { mode: 'stateless', bus: 'none' },
      cookies: { secure: false },
      cleanup: { retention: 86_400 },
    });
    expect(session.absoluteTimeout).toBeUndefined();
    expect(SESSION_DEFAULTS.absoluteTimeout).toBe('7d');
  });

  it('a rate limit above what the library takes stops the start, naming the variable', () => {
    expect(() => loadSampleConfig({ ...base, LOGIN_RATE_LIMIT: '1000000001' })).toThrow('LOGIN_RATE_LIMIT must be at most 1,000,000,000');
    expect(() => loadSampleConfig({ ...base, REFRESH_SESSION_RATE_LIMIT: '1000000001' })).toThrow('REFRESH_SESSION_RATE_LIMIT must be at most 1,000,000,000');
    expect(loadSampleConfig({ ...base, LOGIN_ACCOUNT_RATE_LIMIT: '1000000000' }).authRateLimits.loginPerAccount.limit).toBe(1_000_000_000);
  });

  it('on the embedded engine (one connection) the sample turns the LISTEN bus off', () => {
    expect(loadSampleConfig({ ...base, DATABASE_POOL_SIZE: '1' }).session.revocation?.bus).toBe('none');
  });
});

/** METRICS_PORT: its own port or none, never the app's, never a typo taken for "off". */
describe('the sample\'s METRICS_PORT', () => {
  it.each([
    ['unset', undefined, null],
    ['empty', '', null],
    ['a port', '9464', 9464],
  ])('%s gives %s', (_label, value, expected) => {
    expect(parseMetricsPort(value, '3000')).toBe(expected);
  });

  it.each([['0'], ['65536'], ['94 64'], ['9464x'], ['-1'], ['3000']])('%s is refused at start', (value) => {
    expect(() => parseMetricsPort(value, '3000')).toThrow(/METRICS_PORT/);
  });

  it('the app port counts as 3000 when PORT is unset', () => {
    expect(() => parseMetricsPort('3000', undefined)).toThrow(/differ from PORT/);
  });
});
