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

// The few browser globals the page functions below touch (they run in Chromium, not in Node);
// declared here rather than adding the DOM library to the whole project's types.
declare const document: { cookie: string; querySelector(s: string): { textContent: string | null } | null; querySelectorAll(s: string): { length: number } };
declare const navigator: object;
declare const window: unknown;

/** Issue 11 §7: the sample page and the browser client in a real Chromium. */
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
    context = await browser.newContext();
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

    // Register (the page then logs in).
    await tab1.fill('input[name=email]', email);
    await tab1.fill('input[name=password]', PASSWORD);
    await tab1.click('button[data-action=register]');
    await tab1.waitForSelector('#signed-in:not([hidden])');
    await expectText(tab1, '#me-email', email);
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
    const other = await request(t.server).post('/auth/login').set('X-Session-Transport', 'bearer').set('User-Agent', 'other-device').send({ email, password: PASSWORD });
    expect(other.status).toBe(200);
    const otherSession = (await request(t.server).get('/me').set('Authorization', `Bearer ${other.body.accessToken}`)).body.sessionId as string;
    await tab1.reload();
    await tab1.waitForSelector('#sessions li button');
    expect(await tab1.locator('#sessions li').count()).toBe(2);
    await shot(tab1, 'two-sessions');
    await tab1.click('#sessions li button');
    await tab1.waitForFunction(() => document.querySelectorAll('#sessions li').length === 1);
    expect((await sessionRow(otherSession)).reason).toBe('revoked');
    expect((await request(t.server).get('/me').set('Authorization', `Bearer ${other.body.accessToken}`)).body.code).toBe('SESSION_REVOKED');
    await shot(tab1, 'other-session-signed-out');

    // Log out: the page shows the sign-in form, the session is over, the other tab learns it.
    await tab1.click('#logout');
    await tab1.waitForSelector('#signed-out:not([hidden])');
    expect((await sessionRow(sessionId)).reason).toBe('logout');
    await shot(tab1, 'logged-out');
    await tab2.reload();
    await tab2.waitForSelector('#signed-out:not([hidden])');
    await shot(tab2, 'second-tab-logged-out');
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
