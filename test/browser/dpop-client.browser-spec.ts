import { chromium, type Browser } from 'playwright-core';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { startApp, type TestApp } from '../support/app';
import { PASSWORD, uniqueEmail } from '../support/browser';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const CLIENT = readFileSync(join(__dirname, '..', '..', 'libs', 'session', 'client', 'session-client.mjs'));

/**
 * `createDpopClient` in Chromium, as a front end on another site uses it: the page comes from
 * http://127.0.0.1:<a>, the API is http://localhost:<b> (another site; CORS allows the page's
 * origin), the key is WebCrypto's, non-extractable, kept in IndexedDB, and the tokens are in memory.
 */
describe('the DPoP browser client in Chromium (SESSION_DPOP=allowed, a front end on another site)', () => {
  let site: Server;
  let t: TestApp;
  let browser: Browser;
  let page: string;
  let api: string;

  beforeAll(async () => {
    site = createServer((req, res) => {
      if (req.url === '/session-client.mjs') res.writeHead(200, { 'content-type': 'text/javascript' }).end(CLIENT);
      else
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(`<!doctype html><title>front end</title><script type="module">import { createDpopClient } from './session-client.mjs'; window.createDpopClient = createDpopClient;</script>`);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    page = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
    t = await startApp({ SESSION_DPOP: 'allowed', TRUSTED_ORIGINS: page });
    api = `http://localhost:${(t.server.address() as { port: number }).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await new Promise((resolve) => site?.close(resolve));
  });

  it('logs in bound to a key no script can export, reads and refreshes with proofs, and keeps the key across clients of the page', async () => {
    const tab = await (await browser.newContext()).newPage();
    await tab.goto(`${page}/`);
    await tab.waitForFunction(() => typeof (globalThis as { createDpopClient?: unknown }).createDpopClient === 'function');
    const email = uniqueEmail('dpop-browser');
    const outcome = await tab.evaluate(
      async ({ api, email, password }) => {
        const { createDpopClient } = globalThis as unknown as { createDpopClient: (o: object) => any };
        const json = { 'content-type': 'application/json', 'x-session-transport': 'bearer' };
        const registered = await fetch(`${api}/auth/register`, { method: 'POST', headers: json, body: JSON.stringify({ email, password }) });
        const client = createDpopClient({ baseUrl: api });
        const login = await client.login({ email, password });
        const body = await login.json();
        const me = await client.fetch('/me');
        const refreshed = await client.refresh();
        const meAgain = await client.fetch('/me');
        // The key as IndexedDB keeps it: a CryptoKeyPair whose private half cannot be exported.
        const w = globalThis as unknown as { indexedDB: any; crypto: { subtle: { exportKey(format: string, key: unknown): Promise<unknown> } } };
        const db: any = await new Promise((resolve) => {
          const open = w.indexedDB.open('nest-sessions-keys', 1);
          open.onsuccess = () => resolve(open.result);
        });
        const pair: { privateKey: { extractable: boolean } } = await new Promise((resolve) => {
          const get = db.transaction('keys', 'readonly').objectStore('keys').get('nest-sessions-dpop-key');
          get.onsuccess = () => resolve(get.result);
        });
        let exported = 'refused';
        try {
          await w.crypto.subtle.exportKey('jwk', pair.privateKey);
          exported = 'exported';
        } catch {
          exported = 'refused';
        }
        // A second client of the page (a reload) finds the same key, and logs in bound to it.
        const second = createDpopClient({ baseUrl: api });
        const secondBody = await (await second.login({ email, password })).json();
        const loggedOut = await client.logout();
        return {
          registered: registered.status,
          login: login.status,
          tokenType: body.tokenType,
          accessToken: body.accessToken,
          secondToken: secondBody.accessToken,
          me: me.status,
          refreshed,
          meAgain: meAgain.status,
          extractable: pair.privateKey.extractable,
          exported,
          loggedOut: loggedOut.status,
          afterLogout: (await client.fetch('/me')).status,
        };
      },
      { api, email, password: PASSWORD },
    );
    expect(outcome).toMatchObject({ registered: 201, login: 200, tokenType: 'DPoP', me: 200, refreshed: true, meAgain: 200, extractable: false, exported: 'refused', loggedOut: 204 });
    expect(outcome.afterLogout).toBe(401);
    const jkt = (decodeJwt(outcome.accessToken).cnf as { jkt: string }).jkt;
    expect(jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((decodeJwt(outcome.secondToken).cnf as { jkt: string }).jkt).toBe(jkt);
    // The server holds the same thumbprint on the session row.
    const sid = decodeJwt(outcome.accessToken).sid as string;
    expect((await t.dataSource.query(`SELECT key_jkt AS "jkt" FROM auth_sessions WHERE id = $1`, [sid]))[0].jkt).toBe(jkt);
  });
});
