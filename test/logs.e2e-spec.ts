import request from 'supertest';
import { startApp, TEST_JWT_SECRET, TEST_SESSION_SECRET, type TestApp } from './support/app';
import { ACCESS, Browser, CSRF, PASSWORD, REFRESH, signedInBrowser } from './support/browser';
import { useFakeDate } from './support/clock';

/** SECURITY.md case 48: across login, refresh, reuse, logout and failures, no log line carries a secret. */
describe('logs never carry tokens, secrets or cookie values', () => {
  let t: TestApp;
  const secrets = new Set<string>([TEST_JWT_SECRET, TEST_SESSION_SECRET, PASSWORD]);
  const consoleLines: string[] = [];
  const spies: jest.SpyInstance[] = [];

  beforeAll(async () => {
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      spies.push(jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void consoleLines.push(args.map(String).join(' '))));
    }
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream);
      spies.push(
        jest.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
          consoleLines.push(String(chunk));
          return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
        }) as typeof stream.write),
      );
    }
    t = await startApp();
  });
  afterAll(async () => {
    await t.close();
    spies.forEach((s) => s.mockRestore());
  });

  const remember = (b: Browser) => {
    for (const name of [ACCESS, REFRESH, CSRF]) {
      const v = b.get(name);
      if (v) {
        secrets.add(v);
        if (name === REFRESH) secrets.add(v.split('.')[1]);
      }
    }
    if (b.csrfToken) secrets.add(b.csrfToken);
  };

  it('a full login / refresh / reuse / logout / failure run logs the reuse by session id only', async () => {
    const { browser } = await signedInBrowser(t);
    remember(browser);
    const sid = browser.get(REFRESH)!.split('.')[0];
    const rt1 = browser.get(REFRESH)!;
    await browser.post('/auth/refresh');
    remember(browser);
    const clock = useFakeDate();
    try {
      clock.advance(11_000);
      const thief = new Browser(t);
      thief.cookies.set(REFRESH, { value: rt1, path: '/auth' });
      thief.csrfToken = browser.csrfToken;
      expect((await thief.post('/auth/refresh')).status).toBe(401);
    } finally {
      clock.restore();
    }
    const { browser: other } = await signedInBrowser(t);
    remember(other);
    await request(t.server).get('/me').set('Authorization', `Bearer ${other.get(ACCESS)}x`);
    await request(t.server).get('/me').set('Cookie', `${ACCESS}=garbage.${other.get(ACCESS)}`);
    await request(t.server).post('/auth/refresh').send({ refreshToken: `${other.get(REFRESH)}x` });
    await request(t.server).post('/auth/login').send({ email: 'nobody@example.test', password: PASSWORD });
    // A database failure in the refresh path is logged by its error code, not its parameters.
    await t.dataSource.query(`ALTER TABLE auth_sessions RENAME TO auth_sessions_gone`);
    try {
      const down = await request(t.server).post('/auth/refresh').send({ refreshToken: `${sid}.${'C'.repeat(43)}` });
      expect(down.status).toBe(503);
    } finally {
      await t.dataSource.query(`ALTER TABLE auth_sessions_gone RENAME TO auth_sessions`);
    }
    await other.post('/auth/logout');

    const lines = [...t.logger.lines, ...consoleLines];
    const reuse = lines.filter((l) => l.includes('reuse detected'));
    expect(reuse).toHaveLength(1);
    expect(reuse[0]).toContain(sid);
    expect(lines.some((l) => l.includes('session store query failed'))).toBe(true);
    for (const line of lines) {
      for (const secret of secrets) expect(line).not.toContain(secret);
      expect(line).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./); // no JWT of any kind
      expect(line).not.toMatch(/__Host-ns-|__Secure-ns-|authorization|set-cookie/i);
    }
  });
});
