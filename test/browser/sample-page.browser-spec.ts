import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { startApp, type TestApp } from '../support/app';
import { PASSWORD, uniqueEmail } from '../support/browser';

const SHOTS = join(__dirname, '..', '..', 'test-output', 'browser');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// What the machine's probe found Chromium needs here: no sandbox as root, no background traffic.
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ACCESS_TTL_SECONDS = 2;
// Real browsers' user agents: the session list names the device from them.
const IPHONE_SAFARI = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const WINDOWS_FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';

// The few browser globals the page functions below touch (they run in Chromium, not in Node);
// declared here rather than adding the DOM library to the whole project's types.
declare const document: {
  cookie: string;
  activeElement: { id: string } | null;
  querySelector(s: string): { textContent: string | null } | null;
  querySelectorAll(s: string): ArrayLike<{ id: string; tagName: string; textContent: string | null; getBoundingClientRect(): { width: number; height: number } }>;
};
declare const navigator: object;
declare const window: unknown;

/** The sample page and the browser client in a real Chromium. */
describe('the sample page in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  let base: string;
  let step = 0;
  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true });
  const sessionRow = async (sessionId: string) =>
    (await t.dataSource.query(`SELECT generation, revoked_at AS "revokedAt", revoke_reason AS "reason" FROM auth_sessions WHERE id = $1`, [sessionId]))[0];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    t = await startApp({ ACCESS_TOKEN_TTL: String(ACCESS_TTL_SECONDS), REFRESH_REUSE_GRACE: '10s' });
    base = `http://localhost:${(t.server.address() as { port: number }).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
    context = await browser.newContext({ userAgent: IPHONE_SAFARI });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('register, note, two tabs past the access token\'s life, sessions, sign out another, log out', async () => {
    const email = uniqueEmail('browser');
    const tab1 = await context.newPage();
    await tab1.goto(`${base}/`);
    await shot(tab1, 'signed-out');

    // Register (the page then logs in); the signed-in view's heading takes the focus.
    await tab1.fill('#register-email', email);
    await tab1.fill('#register-password', PASSWORD);
    await tab1.click('#register-form button[type=submit]');
    await tab1.waitForSelector('#signed-in:not([hidden])');
    await expectText(tab1, '#me-email', email);
    expect(await tab1.evaluate(() => document.activeElement?.id)).toBe('signed-in-title');
    await tab1.waitForSelector('#notes-empty:not([hidden])');
    await expectText(tab1, '#notes-empty', 'No notes yet');
    await shot(tab1, 'signed-in');

    // The page's script cannot read the access or refresh token: only the CSRF cookie is visible.
    const visible = await tab1.evaluate(() => document.cookie);
    expect(visible).toContain('__Host-ns-csrf=');
    expect(visible).not.toContain('__Host-ns-at');
    expect(visible).not.toContain('__Secure-ns-rt');
    expect(await tab1.evaluate(() => 'locks' in navigator)).toBe(true); // the cross-tab path runs here

    // A note (a CSRF-guarded POST through the client).
    await tab1.fill('#note-form input[name=text]', 'written in Chromium');
    await tab1.click('#note-form button');
    await tab1.waitForSelector('#notes li');
    await expectText(tab1, '#notes', 'written in Chromium');
    expect(await tab1.isVisible('#notes-empty')).toBe(false);
    await shot(tab1, 'note-added');

    const me = await request(t.server).get('/me').set('Cookie', await cookieHeader(context));
    const sessionId = me.body.sessionId as string;
    const tab2 = await context.newPage();
    await tab2.goto(`${base}/`);
    await tab2.waitForSelector('#signed-in:not([hidden])');
    const before = await sessionRow(sessionId);

    // Past the access token's life, both tabs fire five requests at once.
    const refreshCount = (tab: Page) => tab.evaluate(() => (window as unknown as PageWindow).sessionClient.refreshCount);
    const countsBefore = await Promise.all([tab1, tab2].map(refreshCount));
    // Past the token's life and the server's 5 s clock-skew allowance: the server refuses it now.
    await tab1.waitForTimeout((ACCESS_TTL_SECONDS + 5) * 1000 + 600);
    const statuses = await Promise.all(
      [tab1, tab2].map((tab) =>
        tab.evaluate(() => {
          const client = (window as unknown as PageWindow).sessionClient;
          return Promise.all(Array.from({ length: 5 }, () => client.fetch('/notes').then((r) => r.status)));
        }),
      ),
    );
    expect(statuses.flat()).toEqual(Array(10).fill(200));
    const countsAfter = await Promise.all([tab1, tab2].map(refreshCount));
    const after = await sessionRow(sessionId);
    // One refresh round trip for ten requests in two tabs, one rotation, no reuse revocation.
    expect(countsAfter[0] - countsBefore[0] + (countsAfter[1] - countsBefore[1])).toBe(1);
    expect(after.generation).toBe(before.generation + 1);
    expect(after.revokedAt).toBeNull();
    await shot(tab2, 'second-tab-after-refresh');

    // Another device signs in; this browser lists it and signs it out.
    const other = await request(t.server).post('/auth/login').set('X-Session-Transport', 'bearer').set('User-Agent', WINDOWS_FIREFOX).send({ email, password: PASSWORD });
    expect(other.status).toBe(200);
    const otherSession = (await request(t.server).get('/me').set('Authorization', `Bearer ${other.body.accessToken}`)).body.sessionId as string;
    await tab1.reload();
    await tab1.waitForSelector('#sessions li button');
    expect(await tab1.locator('#sessions li').count()).toBe(2);
    // Each device by its readable name, this one first and marked; Sign out names the device and asks.
    const items = await tab1.locator('#sessions li .what').allTextContents();
    expect(items).toEqual(['Safari on iOS (mobile)This device', 'Firefox on Windows']);
    expect(await tab1.textContent('#sessions li button')).toBe('Sign out Firefox on Windows');
    await shot(tab1, 'two-sessions');
    const asked: string[] = [];
    tab1.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.dismiss();
    });
    await tab1.click('#sessions li button');
    await tab1.waitForTimeout(300);
    expect(asked).toEqual(['Sign out Firefox on Windows? It will have to log in again.']);
    expect(await tab1.locator('#sessions li').count()).toBe(2); // dismissed: nothing happened
    tab1.once('dialog', (dialog) => void dialog.accept());
    await tab1.click('#sessions li button');
    await tab1.waitForFunction(() => document.querySelectorAll('#sessions li').length === 1);
    expect((await sessionRow(otherSession)).reason).toBe('revoked');
    expect((await request(t.server).get('/me').set('Authorization', `Bearer ${other.body.accessToken}`)).body.code).toBe('SESSION_REVOKED');
    await shot(tab1, 'other-session-signed-out');

    // Log out: the page shows the sign-in form (its heading focused, no password left in it), the
    // session is over, the other tab learns it.
    await tab1.click('#logout');
    await tab1.waitForSelector('#signed-out:not([hidden])');
    expect((await sessionRow(sessionId)).reason).toBe('logout');
    expect(await tab1.inputValue('#login-password')).toBe('');
    expect(await tab1.inputValue('#register-password')).toBe('');
    expect(await tab1.evaluate(() => document.activeElement?.id)).toBe('login-title');
    await shot(tab1, 'logged-out');
    await tab2.reload();
    await tab2.waitForSelector('#signed-out:not([hidden])');
    await shot(tab2, 'second-tab-logged-out');
  });

  it('a signed-out load asks for nothing that fails and logs no error; the page at 375 px and 1280 px: 44 px touch targets, buttons on one line', async () => {
    const fresh = await browser.newContext({ userAgent: IPHONE_SAFARI, viewport: { width: 375, height: 800 } });
    const page = await fresh.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
    });
    await page.goto(`${base}/`, { waitUntil: 'networkidle' });
    await page.waitForSelector('#signed-out:not([hidden])');
    expect(problems).toEqual([]);
    // Every input has a label; the two forms say which password a manager should fill.
    expect(await page.locator('input:not([type=checkbox])').evaluateAll((inputs) => inputs.filter((i) => !(i as unknown as { labels: ArrayLike<unknown> }).labels.length).length)).toBe(0);
    expect(await page.getAttribute('#login-password', 'autocomplete')).toBe('current-password');
    expect(await page.getAttribute('#register-password', 'autocomplete')).toBe('new-password');

    const small = async (selector: string) =>
      page.evaluate((s) => Array.from(document.querySelectorAll(s)).filter((e) => e.getBoundingClientRect().width > 0).filter((e) => e.getBoundingClientRect().height < 44).map((e) => e.id || e.textContent), selector);
    expect(await small('button, input:not([type=checkbox]), label.check')).toEqual([]);
    // Nothing sticks out of its card, nor the page sideways.
    const overflowing = () =>
      page.evaluate(() => {
        const doc = document as unknown as { documentElement: { scrollWidth: number; clientWidth: number } };
        const out = Array.from(document.querySelectorAll('button, input, h2, li')).filter((e) => {
          const card = (e as unknown as { closest(s: string): { getBoundingClientRect(): { right: number } } | null }).closest('.card');
          return card !== null && (e.getBoundingClientRect() as unknown as { right: number }).right > card.getBoundingClientRect().right + 0.5;
        });
        return [...out.map((e) => e.id || e.textContent), ...(doc.documentElement.scrollWidth > doc.documentElement.clientWidth ? ['the page scrolls sideways'] : [])];
      });
    expect(await overflowing()).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'page-375-signed-out.png'), fullPage: true });

    const email = uniqueEmail('layout');
    await page.fill('#register-email', email);
    await page.fill('#register-password', PASSWORD);
    await page.click('#register-form button[type=submit]');
    await page.waitForSelector('#signed-in:not([hidden])');
    await page.waitForSelector('#sessions li');
    expect(await small('button, input')).toEqual([]);
    expect(await overflowing()).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'page-375-signed-in.png'), fullPage: true });

    await page.setViewportSize({ width: 1280, height: 900 });
    const wrapped = await page.evaluate(() =>
      Array.from(document.querySelectorAll('button')).filter((b) => b.getBoundingClientRect().width > 0 && b.getBoundingClientRect().height > 50).map((b) => b.textContent),
    );
    expect(wrapped).toEqual([]);
    expect(await overflowing()).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'page-1280-signed-in.png'), fullPage: true });
    expect(problems).toEqual([]);
    await fresh.close();
  });
});

interface PageWindow {
  sessionClient: { fetch(path: string): Promise<Response>; refreshCount: number };
}

async function expectText(page: Page, selector: string, text: string): Promise<void> {
  await page.waitForFunction(([s, x]) => document.querySelector(s)?.textContent?.includes(x) ?? false, [selector, text] as const);
}

async function cookieHeader(context: BrowserContext): Promise<string> {
  return (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
}
