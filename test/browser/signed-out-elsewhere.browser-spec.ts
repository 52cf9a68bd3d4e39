import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { startApp, type TestApp } from '../support/app';
import { PASSWORD, uniqueEmail } from '../support/browser';

const SHOTS = join(__dirname, '..', '..', 'test-output', 'browser', 'signed-out-elsewhere');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// As in sample-page.browser-spec.ts: no sandbox as root, no background traffic.
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ACCESS_TTL_SECONDS = 2;
/** The server's clock-skew allowance on access tokens: past TTL + this, a token is refused. */
const SKEW_SECONDS = 5;
const NOTICE = 'You were signed out from another device';
/** "the moment the session is revoked elsewhere", read as within about 2 s; waited for with a margin. */
const NOTICE_WITHIN_MS = 3_000;
/** How long a notice that should not come is given to come anyway (the server sends session.ended at once). */
const QUIET_MS = 1_000;

// The browser globals the page functions below touch (they run in Chromium, not in Node).
declare const document: { querySelector(s: string): { textContent: string | null } | null };
declare const window: unknown;

interface PageWindow {
  sessionClient: { refreshCount: number };
  sessionSocket: null | { connected: boolean; io: { engine: { transport: { name: string }; close(): void } } };
  droppedSocket?: unknown;
}

/**
 * The sample page holds a socket.io connection to /events while signed in, and says
 * "Signed out on another device" the moment another device ends its session, with no action on
 * the page. Each browser context is a device. Express at the root and Fastify under a global
 * prefix: the page loads socket.io's client from /socket.io (outside the prefix) under its CSP.
 */
describe.each([
  { adapter: 'express', prefix: '' },
  { adapter: 'fastify', prefix: 'api' },
] as const)('the sample page is told when another device signs it out ($adapter, prefix "$prefix")', ({ adapter, prefix }) => {
  const root = prefix ? `/${prefix}` : '';
  let t: TestApp;
  let browser: Browser;
  let base: string;
  /** CSP refusals and uncaught errors in any page; every test ends expecting none. */
  const problems: string[] = [];
  let step = 0;
  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${adapter}-${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    t = await startApp({ HTTP_ADAPTER: adapter, ACCESS_TOKEN_TTL: String(ACCESS_TTL_SECONDS), ...(prefix ? { GLOBAL_PREFIX: prefix } : {}) });
    base = `http://localhost:${(t.server.address() as { port: number }).port}${root}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });
  afterEach(() => {
    expect(problems.splice(0)).toEqual([]);
  });

  /** A tab on the page, watched for CSP refusals and page errors. */
  async function tab(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${base}/`);
    return page;
  }

  /** A device (a browser context of its own) on the page. */
  async function device(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext();
    return { context, page: await tab(context) };
  }

  /** Waits until the page's socket is connected and bound to its session (the server's `session` event). */
  const live = (page: Page) => page.waitForSelector('#signed-in[data-live]', { state: 'attached', timeout: 5_000 });

  async function logIn(page: Page, email: string): Promise<void> {
    await page.fill('#login-email', email);
    await page.fill('#login-password', PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#signed-in:not([hidden])');
    await live(page);
  }

  async function register(): Promise<string> {
    const email = uniqueEmail('elsewhere');
    expect((await request(t.server).post(`${root}/auth/register`).send({ email, password: PASSWORD })).status).toBe(201);
    return email;
  }

  /** Resolves once the notice reads exactly NOTICE, within NOTICE_WITHIN_MS; returns how long that took. */
  async function noticeShown(page: Page, since: number): Promise<number> {
    await page.waitForFunction((text) => document.querySelector('#notice')?.textContent === text, NOTICE, { timeout: NOTICE_WITHIN_MS });
    const elapsed = performance.now() - since;
    expect(await page.textContent('#notice')).toBe(NOTICE);
    expect(await page.isVisible('#notice')).toBe(true);
    expect(await page.getAttribute('#notice', 'role')).toBe('status');
    return elapsed;
  }

  async function expectSignedOutView(page: Page): Promise<void> {
    await page.waitForSelector('#signed-out:not([hidden])', { timeout: NOTICE_WITHIN_MS });
    expect(await page.isVisible('#signed-in')).toBe(false);
    expect(await page.evaluate(() => (window as PageWindow).sessionSocket)).toBeNull();
    // Nobody at the device can log back in with the password left in the form.
    expect(await page.inputValue('#login-password')).toBe('');
    expect(await page.inputValue('#register-password')).toBe('');
  }

  async function expectNoNotice(page: Page): Promise<void> {
    await page.waitForTimeout(QUIET_MS);
    expect(await page.textContent('#notice')).toBe('');
    expect(await page.isVisible('#notice')).toBe(false);
  }

  const sessionIdOf = async (context: BrowserContext) =>
    (await request(t.server).get(`${root}/me`).set('Cookie', (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; '))).body.sessionId as string;
  const revokeReason = async (sessionId: string) =>
    (await t.dataSource.query(`SELECT revoke_reason AS "reason" FROM auth_sessions WHERE id = $1`, [sessionId]))[0].reason as string | null;

  it('device B signs device A out from "My sessions": A shows the notice and the signed-out view, with no action on A', async () => {
    const email = await register();
    const a = await device();
    await logIn(a.page, email);
    const b = await device();
    await logIn(b.page, email);
    const sessionA = await sessionIdOf(a.context);
    // The connection upgrades to a WebSocket: the CSP's connect-src 'self' allows it.
    await a.page.waitForFunction(() => (window as PageWindow).sessionSocket?.io.engine.transport.name === 'websocket');
    await shot(a.page, 'a-signed-in');

    // Past the access token's life A's connection drops; socket.io reconnects, the handshake is
    // refused with ACCESS_TOKEN_EXPIRED, and the page refreshes over HTTP and connects again.
    await a.page.waitForTimeout((ACCESS_TTL_SECONDS + SKEW_SECONDS) * 1000 + 600);
    const refreshesBefore = await a.page.evaluate(() => (window as PageWindow).sessionClient.refreshCount);
    await a.page.evaluate(() => {
      const w = window as PageWindow;
      w.droppedSocket = w.sessionSocket;
      w.sessionSocket!.io.engine.close();
    });
    await a.page.waitForFunction(() => {
      const w = window as PageWindow;
      return w.sessionSocket !== null && w.sessionSocket !== w.droppedSocket && w.sessionSocket.connected;
    });
    await live(a.page);
    expect(await a.page.evaluate(() => (window as PageWindow).sessionClient.refreshCount)).toBe(refreshesBefore + 1);
    expect(await revokeReason(sessionA)).toBeNull();

    // B lists A's session and signs it out. Nothing is done on A from here on.
    await b.page.reload();
    await b.page.waitForSelector('#sessions li button');
    expect(await b.page.locator('#sessions li').count()).toBe(2);
    await shot(b.page, 'b-lists-a');
    b.page.once('dialog', (dialog) => void dialog.accept());
    const clickedAt = performance.now();
    await b.page.click('#sessions li button');

    const elapsed = await noticeShown(a.page, clickedAt);
    await expectSignedOutView(a.page);
    console.log(`[${adapter}] "${NOTICE}" shown on A ${Math.round(elapsed)} ms after B's click`);
    expect(await revokeReason(sessionA)).toBe('revoked');
    await shot(a.page, 'a-signed-out-elsewhere');

    // B stays signed in, with one session left and no notice of its own.
    await b.page.waitForFunction(() => document.querySelector('#sessions')?.textContent?.includes('This device') ?? false);
    expect(await b.page.locator('#sessions li').count()).toBe(1);
    expect(await b.page.isVisible('#signed-in')).toBe(true);
    expect(await b.page.textContent('#notice')).toBe('');
    await shot(b.page, 'b-after-signing-a-out');

    // The notice has the focus, and stays until the next login, which clears it.
    expect(await a.page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id)).toBe('notice');
    await a.page.waitForTimeout(QUIET_MS);
    expect(await a.page.textContent('#notice')).toBe(NOTICE);
    await logIn(a.page, email);
    expect(await a.page.textContent('#notice')).toBe('');
    await shot(a.page, 'a-logged-in-again');
    await a.context.close();
    await b.context.close();
  });

  it('"Log out everywhere" on B shows the notice on both of A\'s tabs, not on B; A\'s own "Log out" shows it in none of its tabs', async () => {
    const email = await register();
    const a = await device();
    await logIn(a.page, email);
    const a2 = await tab(a.context); // a second tab of device A: the same session
    await a2.waitForSelector('#signed-in:not([hidden])');
    await live(a2);
    const b = await device();
    await logIn(b.page, email);

    const clickedAt = performance.now();
    await b.page.click('#logout-all');
    const elapsed = await Promise.all([noticeShown(a.page, clickedAt), noticeShown(a2, clickedAt)]);
    await expectSignedOutView(a.page);
    await expectSignedOutView(a2);
    console.log(`[${adapter}] logout-all on B: "${NOTICE}" on A's tabs after ${elapsed.map(Math.round).join(' and ')} ms`);
    await shot(a2, 'a-second-tab-signed-out-elsewhere');
    // B logged itself out: the signed-out view, and no notice.
    await expectSignedOutView(b.page);
    await expectNoNotice(b.page);
    await shot(b.page, 'b-logged-out-everywhere');

    // A logs in again (the notice goes), its second tab catches up, then A logs out itself.
    await logIn(a.page, email);
    expect(await a.page.textContent('#notice')).toBe('');
    await a2.reload();
    await a2.waitForSelector('#signed-in:not([hidden])');
    await live(a2);
    const sessionA = await sessionIdOf(a.context);
    await a.page.click('#logout');
    await expectSignedOutView(a.page);
    await expectSignedOutView(a2); // told by the tab that logged out, not by the server
    await Promise.all([expectNoNotice(a.page), expectNoNotice(a2)]);
    expect(await revokeReason(sessionA)).toBe('logout');
    await shot(a.page, 'a-logged-out-itself');
    await shot(a2, 'a-second-tab-after-own-logout');
    await a.context.close();
    await b.context.close();
  });
});

/**
 * The other reason `session.ended` gives: the session ran past its idle timeout while the page was
 * open and unused (nothing refreshes an idle page's session). The page says so, not "another device".
 */
describe('the sample page is told when its session expires', () => {
  const IDLE_SECONDS = 4;
  const EXPIRED = 'Your session expired';
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    t = await startApp({ ACCESS_TOKEN_TTL: String(ACCESS_TTL_SECONDS), SESSION_IDLE_TIMEOUT: String(IDLE_SECONDS) });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('at the idle timeout the page shows "Your session expired", not "You were signed out from another device"', async () => {
    const email = uniqueEmail('expires');
    expect((await request(t.server).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201);
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`http://localhost:${(t.server.address() as { port: number }).port}/`);
    await page.fill('#login-email', email);
    await page.fill('#login-password', PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#signed-in[data-live]', { state: 'attached', timeout: 5_000 });
    const loggedInAt = performance.now();
    await page.waitForFunction((text) => document.querySelector('#notice')?.textContent === text, EXPIRED, { timeout: (IDLE_SECONDS + 4) * 1000 });
    const after = (performance.now() - loggedInAt) / 1000;
    console.log(`"${EXPIRED}" shown ${after.toFixed(1)} s after login (idle timeout ${IDLE_SECONDS} s)`);
    // Not before the session's end (the login's response came a little before loggedInAt).
    expect(after).toBeGreaterThan(IDLE_SECONDS - 1.5);
    await page.waitForSelector('#signed-out:not([hidden])', { timeout: 3_000 });
    expect(await page.textContent('#notice')).toBe(EXPIRED);
    expect(await page.inputValue('#login-password')).toBe('');
    expect(errors).toEqual([]);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'expired.png'), fullPage: true });
    await context.close();
  });
});
