import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type TestApp } from '../support/app';
import { ACCESS, CSRF, PASSWORD, REFRESH, uniqueEmail } from '../support/browser';
import { within } from '../support/within';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// The DBSC protocol in Chromium, with a software key (no TPM here) and no refresh quota; no origin-trial token is needed.
const DBSC_FEATURES = '--enable-features=DeviceBoundSessions:RefreshQuota/false,EnableBoundSessionCredentialsSoftwareKeysForManualTesting';

/** A certificate for localhost, and the SPKI hash Chromium is told to trust it by. */
function selfSigned(dir: string): { cert: string; key: string; spki: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
  ], { stdio: 'ignore' });
  const spki = createHash('sha256').update(new X509Certificate(readFileSync(cert)).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  return { cert, key, spki };
}

/** What `fetch` in the page answered: the status and the body's `code`, if any. */
type Answer = { status: number; code?: string };

/**
 * DBSC with a client no one here wrote: Debian's Chromium, over HTTPS on loopback with a
 * self-signed certificate it trusts by its SPKI hash (ignoring certificate errors would turn DBSC
 * off). The browser registers a key after the login, refreshes the session with a proof when the
 * access cookie is gone, and a second context holding copies of the cookies (no key) is refused
 * at its first refresh.
 */
describe('DBSC in Chromium (SESSION_DBSC=on, HTTPS)', () => {
  let dir: string;
  let t: TestApp;
  let browser: Browser;
  let base: string;
  const events: Array<Record<string, unknown>> = [];

  let tls: { cert: string; key: string; spki: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ns-dbsc-'));
    tls = selfSigned(dir);
    t = await startApp({ SESSION_DBSC: 'on', TLS_CERT_FILE: tls.cert, TLS_KEY_FILE: tls.key });
    base = `https://localhost:${(t.server.address() as { port: number }).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: [...ARGS, DBSC_FEATURES, `--ignore-certificate-errors-spki-list=${tls.spki}`], headless: true });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** DevTools' record of what the browser did with device-bound sessions. */
  async function watch(page: Page): Promise<CDPSession> {
    const cdp = await page.context().newCDPSession(page);
    cdp.on('Network.deviceBoundSessionEventOccurred' as never, (event: Record<string, unknown>) => void events.push(event));
    await cdp.send('Network.enableDeviceBoundSessions' as never, { enable: true } as never);
    return cdp;
  }

  const call = (page: Page, method: string, path: string, body?: object): Promise<Answer> =>
    page.evaluate(
      async ({ method, path, body }) => {
        const csrf = /(?:^|; )__Host-ns-csrf=([^;]*)/.exec((globalThis as unknown as { document: { cookie: string } }).document.cookie)?.[1];
        const res = await fetch(path, {
          method,
          headers: { 'content-type': 'application/json', ...(csrf ? { 'x-csrf-token': csrf } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        const text = await res.text();
        let code: string | undefined;
        try {
          code = JSON.parse(text).code;
        } catch {
          code = undefined;
        }
        return { status: res.status, code };
      },
      { method, path, body },
    );

  const detail = (event: Record<string, unknown>, kind: string) => event[kind] as Record<string, unknown> | undefined;
  const boundKey = async (sessionId: string): Promise<string | null> =>
    (await t.dataSource.query(`SELECT key_jkt AS "jkt" FROM auth_sessions WHERE id = $1`, [sessionId]))[0]?.jkt ?? null;
  const refreshCookie = async (context: BrowserContext) => (await context.cookies()).find((c) => c.name === REFRESH)?.value;

  it('binds the session at login, refreshes it with a proof when the access cookie is gone, and copied cookies die at their first refresh', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await watch(page);
    await page.goto(`${base}/`);
    const email = uniqueEmail('dbsc-browser');
    expect((await call(page, 'POST', '/auth/register', { email, password: PASSWORD })).status).toBe(201);
    expect((await call(page, 'POST', '/auth/login', { email, password: PASSWORD })).status).toBe(200);

    // Registration happens in the background after the login answer: the session row gets its key.
    const sessionId = (await refreshCookie(context))!.split('.')[0];
    await within(10_000, async () => (await boundKey(sessionId)) !== null);
    // DevTools saw the browser create the session (Chromium's own account, not the server's).
    await within(10_000, async () => events.some((e) => detail(e, 'creationEventDetails')?.fetchResult === 'Success'));
    expect(JSON.stringify(events)).toContain(sessionId);

    // A thief's copy of the whole cookie jar, taken now, into a browser context with no key.
    const stolen = await context.cookies();
    expect(stolen.map((c) => c.name).sort()).toEqual([ACCESS, CSRF, REFRESH].sort());

    // The bound cookie disappears (as when it expires): the browser refreshes with its key before
    // the request goes out, so the page never sees a 401.
    const before = await refreshCookie(context);
    await context.clearCookies({ name: ACCESS });
    expect((await call(page, 'GET', '/me')).status).toBe(200);
    expect(await refreshCookie(context)).not.toBe(before);
    const generation = (await t.dataSource.query(`SELECT generation FROM auth_sessions WHERE id = $1`, [sessionId]))[0].generation;
    expect(generation).toBeGreaterThanOrEqual(1);
    expect(events.some((e) => detail(e, 'refreshEventDetails')?.refreshResult === 'Refreshed')).toBe(true);

    const thief = await browser.newContext();
    await thief.addCookies(stolen);
    const thiefPage = await thief.newPage();
    await thiefPage.goto(`${base}/`);
    // Its access cookie is still good for its few minutes (DBSC bounds that, not more)...
    expect((await call(thiefPage, 'GET', '/me')).status).toBe(200);
    // ...but once it is gone, its refresh cookie refreshes nothing, and the owner goes on.
    await thief.clearCookies({ name: ACCESS });
    expect((await call(thiefPage, 'GET', '/me')).status).toBe(401);
    const refused = await call(thiefPage, 'POST', '/auth/refresh');
    expect(refused.status).toBe(401);
    expect(refused.code).toBe('DEVICE_PROOF_REQUIRED');
    expect((await call(page, 'GET', '/me')).status).toBe(200);
    await thief.close();
    await context.close();
  });

  it('the sample page\'s client leaves refreshing a bound session to the browser: no refresh of its own, no theft signal', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // The page's clock (not the browser's cookie clock) can be moved: the client then believes
    // the access token is about to expire, when a client that refreshed by itself would.
    await page.clock.install();
    await page.goto(`${base}/`);
    const from = t.logger.lines.length;
    await page.fill('#register-email', uniqueEmail('dbsc-page'));
    await page.fill('#register-password', PASSWORD);
    await page.click('#register-form button[type=submit]');
    await page.waitForSelector('#signed-in:not([hidden])');
    const sessionId = (await refreshCookie(context))!.split('.')[0];
    await within(10_000, async () => (await boundKey(sessionId)) !== null);
    await page.clock.fastForward('09:45');
    await page.fill('#note-form input[name=text]', 'written on a bound session');
    await page.click('#note-form button');
    await page.waitForSelector('#notes li');
    // And when the bound cookie is gone, the browser refreshes under the client's request.
    await context.clearCookies({ name: ACCESS });
    await page.fill('#note-form input[name=text]', 'written after the browser refreshed');
    await page.click('#note-form button');
    await page.waitForSelector('#notes li:nth-child(2)');
    expect(await page.isVisible('#signed-in')).toBe(true);
    const lines = t.logger.lines.slice(from);
    expect(lines.filter((l) => l.includes('"event":"session.refreshed"') && l.includes(sessionId)).length).toBeGreaterThanOrEqual(1);
    expect(lines.filter((l) => l.includes('session.theft_suspected'))).toEqual([]);
    await context.close();
  });

  it('a bound access cookie that expires (a 3 s token) is refreshed by the browser with a proof before the request goes out', async () => {
    // An app and a browser of its own: Chromium keeps DBSC sessions per site (https://localhost,
    // whatever the port), and this one refreshes on every request once its cookie is short.
    const short = await startApp({ SESSION_DBSC: 'on', TLS_CERT_FILE: tls.cert, TLS_KEY_FILE: tls.key, ACCESS_TOKEN_TTL: '3' });
    const own = await chromium.launch({ executablePath: CHROMIUM, args: [...ARGS, DBSC_FEATURES, `--ignore-certificate-errors-spki-list=${tls.spki}`], headless: true });
    const context = await own.newContext();
    try {
      const origin = `https://localhost:${(short.server.address() as { port: number }).port}`;
      const page = await context.newPage();
      await watch(page);
      await page.goto(`${origin}/`);
      const email = uniqueEmail('dbsc-expiry');
      expect((await call(page, 'POST', '/auth/register', { email, password: PASSWORD })).status).toBe(201);
      expect((await call(page, 'POST', '/auth/login', { email, password: PASSWORD })).status).toBe(200);
      const sessionId = (await refreshCookie(context))!.split('.')[0];
      const bound = async () => (await short.dataSource.query(`SELECT key_jkt AS "jkt" FROM auth_sessions WHERE id = $1`, [sessionId]))[0]?.jkt ?? null;
      await within(10_000, async () => (await bound()) !== null);
      const refreshes = () => events.filter((e) => detail(e, 'refreshEventDetails')?.refreshResult === 'Refreshed' && JSON.stringify(e).includes(sessionId)).length;
      const before = refreshes();
      await new Promise((r) => setTimeout(r, 4_000)); // the access cookie and its token have expired
      expect((await context.cookies()).some((c) => c.name === ACCESS && c.expires * 1000 > Date.now())).toBe(false);
      expect((await call(page, 'GET', '/me')).status).toBe(200);
      expect(refreshes()).toBeGreaterThan(before);
    } finally {
      await own.close();
      await short.close();
    }
  });
});
