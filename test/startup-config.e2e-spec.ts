import { startApp } from './support/app';

/** docs/security.md case 17: unsafe configuration stops the app at start, saying what to set. */
describe('unsafe configuration stops the start', () => {
  const refused = async (env: Record<string, string>, message: RegExp) => {
    await expect(startApp(env)).rejects.toThrow(message);
  };

  it.each([
    [{ JWT_SECRET: 'too-short' }, /jwtSecret is 9 bytes; use at least 32/],
    [{ JWT_SECRET: 'changeme-changeme-changeme-changeme-changeme' }, /jwtSecret looks like a placeholder/],
    [{ JWT_SECRET: 'a'.repeat(48) }, /jwtSecret looks like a placeholder/],
    [{ SESSION_SECRET: 'short' }, /sessionSecret is 5 bytes/],
    [{ ACCESS_TOKEN_TTL: '20m', SESSION_IDLE_TIMEOUT: '15m' }, /idleTimeout \(900s\) must not be shorter than accessTokenTtl/],
    [{ ACCESS_TOKEN_TTL: '2h' }, /accessTokenTtl \(7200s\) is over 1 hour/],
    [{ SESSION_REVOCATION: 'sometimes' }, /SESSION_REVOCATION must be "strict" or "stateless"/],
    [{ ACCESS_TOKEN_TTL: 'ten minutes' }, /ACCESS_TOKEN_TTL must be a number of seconds/],
    [{ SESSION_TRANSPORTS: 'carrier-pigeon' }, /transports must list/],
    [{ TRUSTED_ORIGINS: 'https://ok.example.com/path' }, /is not an origin/],
  ])('%j', async (env, message) => {
    await refused(env, message);
  });

  it('production refuses missing secrets, COOKIE_SECURE=false and ADMIN_EMAILS', async () => {
    await refused({ NODE_ENV: 'production', JWT_SECRET: '' }, /JWT_SECRET is not set/);
    await refused({ NODE_ENV: 'production', COOKIE_SECURE: 'false' }, /COOKIE_SECURE=false is for plain-http development only/);
    await refused({ NODE_ENV: 'production', ADMIN_EMAILS: 'a@example.com' }, /ADMIN_EMAILS is for development only/);
  });

  it.each(['staging', 'prod', ''])('development-only settings are refused when NODE_ENV is %j, not only in production', async (nodeEnv) => {
    await refused({ NODE_ENV: nodeEnv, COOKIE_SECURE: 'false' }, /COOKIE_SECURE=false is for plain-http development only/);
    await refused({ NODE_ENV: nodeEnv, ADMIN_EMAILS: 'a@example.com' }, /ADMIN_EMAILS is for development only/);
    await refused({ NODE_ENV: nodeEnv, JWT_SECRET: '' }, /JWT_SECRET is not set/);
  });

  it('outside development and test, a missing secret is refused rather than made up', async () => {
    await refused({ NODE_ENV: 'staging', SESSION_SECRET: '' }, /SESSION_SECRET is not set/);
  });

  it('development makes a random secret with a warning, and plain-http cookies are allowed there', async () => {
    const t = await startApp({ NODE_ENV: 'development', JWT_SECRET: '', COOKIE_SECURE: 'false' });
    try {
      expect(t.logger.lines.some((l) => l.includes('JWT_SECRET is not set: using a random one'))).toBe(true);
    } finally {
      await t.close();
    }
  });
});
