// nest-sessions/client: a fetch wrapper for browser pages that use the cookie transport. No
// dependencies; plain ESM, typed by session-client.d.mts.
//
// - Sends the CSRF token (x-csrf-token) on unsafe requests to the app's own origin only: the
//   readable CSRF cookie (always the current session's), else the last login or refresh body.
// - Refreshes ahead of accessTokenExpiresAt (measured on this browser's clock, from the server's
//   Date header), and on ACCESS_TOKEN_EXPIRED refreshes once and retries the request.
// - Exactly one refresh runs for all concurrent callers: one promise in a tab, and a Web Lock
//   across the tabs of the browser. The lock holder hands its result over through IndexedDB,
//   whose transactions the browser orders (localStorage reaches other tabs only eventually), so a
//   tab that waited for the lock adopts the refresh another tab made instead of refreshing again.
//   Without Web Locks, tabs coordinate through localStorage; the server's grace window absorbs
//   the rare overlap.
// - SESSION_REVOKED and REAUTHENTICATION_REQUIRED (or a refresh refused) end in one `signedout`
//   event.
// - A login that offered device binding (DBSC, `deviceBinding: true`) leaves refreshing to the
//   browser, which refreshes a bound cookie before it expires: no refresh ahead, and a plain
//   refresh refused with DEVICE_PROOF_REQUIRED means the browser holds the key, not a sign-out.

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const SIGNED_OUT_CODES = new Set(['SESSION_REVOKED', 'REAUTHENTICATION_REQUIRED']);
/** A refresh never waits longer than this; a hung one must not hold every tab's lock. */
const REFRESH_TIMEOUT_MS = 15_000;
/** Refreshing ahead never happens more often than this, whatever the clocks say. */
const MIN_PROACTIVE_INTERVAL_MS = 5_000;

export function createSessionClient(options = {}) {
  const base = (options.baseUrl ?? '').replace(/\/$/, '');
  const refreshPath = options.refreshPath ?? '/auth/refresh';
  const loginPath = options.loginPath ?? '/auth/login';
  const logoutPaths = options.logoutPaths ?? ['/auth/logout', '/auth/logout-all'];
  const csrfHeader = options.csrfHeader ?? 'x-csrf-token';
  const csrfCookies = options.csrfCookies ?? ['__Host-ns-csrf', 'ns-csrf'];
  const refreshAheadMs = options.refreshAheadMs ?? 30_000;
  const lockName = options.lockName ?? 'nest-sessions-refresh';
  const storageKey = `${lockName}:state`;
  const credentials = options.credentials ?? 'same-origin';
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const events = new EventTarget();
  // The app is where the page came from, or the baseUrl's host when it names one; never where a
  // <base href> points.
  const appOrigin =
    (base && !isRelative(base) ? destinationOf(base, pageAddress())?.origin : destinationOf(globalThis.location?.href ?? 'https://invalid.invalid/')?.origin) ?? null;

  let csrfToken = null;
  let expiresAt = null; // ms on this browser's clock, when the access token expires
  let lifetime = null; // ms the current access token was issued for
  let inFlight = null;
  let refreshCount = 0;
  let refreshedAt = 0; // when this tab last completed a refresh (ms)
  let deviceBinding = false; // the login offered DBSC: the browser may refresh the session itself

  // --- state shared with the other tabs --------------------------------------------------------

  function shared() {
    try {
      return JSON.parse(globalThis.localStorage?.getItem(storageKey) ?? 'null');
    } catch {
      return null;
    }
  }

  let database = null;
  function openDatabase() {
    if (!globalThis.indexedDB) return Promise.resolve(null);
    database ??= new Promise((resolve) => {
      const request = globalThis.indexedDB.open('nest-sessions', 1);
      request.onupgradeneeded = () => request.result.createObjectStore('state');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => resolve(null);
    });
    return database;
  }

  /** The last refresh any tab made, read the consistent way (under the lock). */
  async function readShared() {
    const db = await openDatabase();
    if (!db) return shared();
    return new Promise((resolve) => {
      const get = db.transaction('state', 'readonly').objectStore('state').get(storageKey);
      get.onsuccess = () => resolve(get.result ?? null);
      get.onerror = () => resolve(shared());
    });
  }

  async function writeShared(state) {
    try {
      globalThis.localStorage?.setItem(storageKey, JSON.stringify(state));
    } catch {
      // Storage may be unavailable (private mode): each tab then keeps its own view.
    }
    const db = await openDatabase();
    if (!db) return;
    await new Promise((resolve) => {
      const tx = db.transaction('state', 'readwrite');
      tx.objectStore('state').put(state, storageKey);
      tx.oncomplete = tx.onerror = tx.onabort = () => resolve();
    });
  }

  // --- this tab's view of the session -----------------------------------------------------------

  /**
   * Adopts a login or refresh body. `serverDate` (the response's Date header) turns the server's
   * expiry into this browser's clock, so a skewed clock neither refreshes constantly nor never.
   */
  function adopt(body, serverDate) {
    if (!body || typeof body !== 'object') return;
    if (typeof body.csrfToken === 'string') csrfToken = body.csrfToken;
    if (body.deviceBinding === true) deviceBinding = true;
    if (typeof body.accessTokenExpiresAt === 'string') {
      const serverExpiry = Date.parse(body.accessTokenExpiresAt);
      const serverNow = serverDate ? Date.parse(serverDate) : NaN;
      lifetime = Math.max(0, serverExpiry - (Number.isNaN(serverNow) ? Date.now() : serverNow));
      expiresAt = Date.now() + lifetime;
    }
  }

  function forget() {
    csrfToken = null;
    deviceBinding = false;
    expiresAt = null;
    lifetime = null;
    void writeShared(null);
  }

  /** The readable CSRF cookie is the current session's by construction; it wins. */
  function currentCsrf() {
    for (const name of csrfCookies) {
      const hit = globalThis.document?.cookie?.split('; ').find((c) => c.startsWith(`${name}=`));
      if (hit) return hit.slice(name.length + 1);
    }
    if (csrfToken) return csrfToken;
    const other = shared();
    return typeof other?.csrfToken === 'string' ? other.csrfToken : null;
  }

  function knownExpiry() {
    const other = shared();
    return Math.max(expiresAt ?? 0, other?.expiresAt ?? 0) || null;
  }

  function signedOut(code) {
    forget();
    events.dispatchEvent(new CustomEvent('signedout', { detail: { code } }));
  }

  async function codeOf(response) {
    if (response.status !== 401) return null;
    try {
      const body = await response.clone().json();
      return typeof body?.code === 'string' ? body.code : null;
    } catch {
      return null;
    }
  }

  // --- refresh ------------------------------------------------------------------------------------

  /** One refresh round trip; true when the session goes on. */
  async function refreshNow() {
    const headers = {};
    const token = currentCsrf();
    if (token) headers[csrfHeader] = token;
    const signal = typeof AbortSignal?.timeout === 'function' ? AbortSignal.timeout(REFRESH_TIMEOUT_MS) : undefined;
    let response;
    try {
      response = await doFetch(base + refreshPath, { method: 'POST', headers, credentials, signal });
    } catch {
      return false; // offline or timed out: the caller's own request decides what happens next
    }
    if (!response.ok) {
      const code = await codeOf(response);
      // Bound to this browser's key: the browser refreshes it (before the retried request goes out).
      if (code === 'DEVICE_PROOF_REQUIRED') return (deviceBinding = true);
      if (response.status === 401) signedOut(code ?? 'UNAUTHENTICATED');
      return false;
    }
    refreshCount += 1;
    adopt(await response.json().catch(() => null), response.headers.get('date'));
    refreshedAt = Date.now();
    await writeShared({ refreshedAt, expiresAt, csrfToken, deviceBinding });
    return true;
  }

  /**
   * Refreshes the session once for every caller: concurrent calls in a tab share one promise, and
   * tabs queue on a Web Lock. `since` is when the caller's evidence was made (the moment a request
   * that came back ACCESS_TOKEN_EXPIRED was sent): if this tab or another one has refreshed since
   * then, that request merely carried the old cookie, and the refresh already done is adopted.
   */
  function refresh(since = Date.now()) {
    if (inFlight) return inFlight;
    const run = async () => {
      if (refreshedAt >= since) return true;
      const other = await readShared();
      if (other && other.refreshedAt >= since) {
        if (typeof other.csrfToken === 'string') csrfToken = other.csrfToken;
        if (typeof other.expiresAt === 'number') expiresAt = other.expiresAt;
        return true;
      }
      return refreshNow();
    };
    const locks = globalThis.navigator?.locks;
    inFlight = (locks ? locks.request(lockName, run) : run()).finally(() => {
      inFlight = null;
    });
    return inFlight;
  }

  // --- fetch --------------------------------------------------------------------------------------

  /** The app's own origin only: a token or a login body never crosses to another origin. */
  function isOwn(url) {
    const origin = destinationOf(url, pageAddress())?.origin;
    return origin !== undefined && origin !== 'null' && origin === appOrigin;
  }

  function withCsrf(url, init) {
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers ?? {});
    const token = isOwn(url) ? currentCsrf() : null;
    if (UNSAFE.has(method) && token && !headers.has(csrfHeader)) headers.set(csrfHeader, token);
    return { ...init, method, headers, credentials: init.credentials ?? credentials };
  }

  const pathOf = (url) => destinationOf(url, pageAddress())?.pathname ?? '';

  /** fetch() for the app's API: CSRF header, refresh ahead and on expiry, one retry. */
  async function sessionFetch(input, init = {}) {
    // A string or a URL: a Request carries its own address, which this client would not judge.
    const path = input instanceof URL ? input.href : input;
    if (typeof path !== 'string') throw new TypeError('sessionClient.fetch takes a URL string or a URL, not a Request');
    const url = base && isRelative(path) ? base + path : path;
    const own = isOwn(url);
    const target = pathOf(url);
    const isLogin = target.endsWith(loginPath);
    if (own && !isLogin && !deviceBinding && !shared()?.deviceBinding) {
      const expiry = knownExpiry();
      // Ahead by refreshAheadMs, but never more than a quarter of the token's life, and never
      // more often than every few seconds however the clocks disagree.
      const ahead = Math.min(refreshAheadMs, (lifetime ?? refreshAheadMs * 4) / 4);
      const due = expiry !== null && Date.now() >= expiry - ahead && Date.now() - refreshedAt >= MIN_PROACTIVE_INTERVAL_MS;
      if (due) await refresh().catch(() => false);
    }
    const sentAt = Date.now();
    let response = await doFetch(url, withCsrf(url, init));
    if (!own) return response;
    let code = await codeOf(response);
    if (code === 'ACCESS_TOKEN_EXPIRED' && (await refresh(sentAt))) {
      response = await doFetch(url, withCsrf(url, init));
      code = await codeOf(response);
    }
    if (code && SIGNED_OUT_CODES.has(code)) signedOut(code);
    if (response.ok && (isLogin || target.endsWith(refreshPath))) {
      adopt(await response.clone().json().catch(() => null), response.headers.get('date'));
      refreshedAt = Date.now();
      await writeShared({ refreshedAt, expiresAt, csrfToken, deviceBinding });
    }
    if (logoutPaths.some((p) => target.endsWith(p)) && response.status < 500) forget();
    return response;
  }

  return {
    fetch: sessionFetch,
    refresh,
    adopt(body) {
      adopt(body);
      void writeShared({ refreshedAt: Date.now(), expiresAt, csrfToken });
    },
    /** Forget the session locally (after a logout made some other way). */
    clear: forget,
    get refreshCount() {
      return refreshCount;
    },
    get accessTokenExpiresAt() {
      const expiry = knownExpiry();
      return expiry === null ? null : new Date(expiry);
    },
    addEventListener: events.addEventListener.bind(events),
    removeEventListener: events.removeEventListener.bind(events),
  };
}

/**
 * The address the page's relative URLs resolve against, as fetch() resolves them: the document's
 * base URL (which `<base href>` changes), else the page's. Outside a browser (tests, server
 * rendering) a placeholder, so a path is still the app's own.
 */
function pageAddress() {
  return globalThis.document?.baseURI ?? globalThis.location?.href ?? 'https://invalid.invalid/';
}

/**
 * Where fetch() sends `url`, decided by the URL parser the browser itself uses: a regex sees a
 * path in `/\\evil.example` or ` //evil.example` where the parser sees a host. Null when it does
 * not parse (fetch would refuse it too).
 */
function destinationOf(url, page) {
  try {
    return new URL(url, page);
  } catch {
    return null;
  }
}

/**
 * True when `path` names no origin of its own (it resolves onto whatever base it is given). A
 * sentinel host with the page's scheme, so `https:evil.example` reads as the browser reads it.
 */
function isRelative(path) {
  const scheme = destinationOf(pageAddress())?.protocol ?? 'https:';
  return destinationOf(path, `${scheme}//nest-sessions.invalid/`)?.host === 'nest-sessions.invalid';
}

// --- DPoP: the bearer transport bound to a key this browser keeps --------------------------------

/**
 * A client for the bearer transport with DPoP (RFC 9449), for a front end on another site, where
 * the app's cookies cannot go: the session is bound to an ECDSA P-256 key made non-extractable and
 * kept in IndexedDB (this page's script can sign with it, nothing can read it out), and the tokens
 * live in this page's memory only. Every request carries `Authorization: DPoP` and a fresh proof;
 * a server nonce (`use_dpop_nonce`) is fetched and retried once; `ACCESS_TOKEN_EXPIRED` refreshes
 * (with a proof) and retries once. A reload forgets the tokens: log in again.
 */
export function createDpopClient(options = {}) {
  const base = (options.baseUrl ?? '').replace(/\/$/, '');
  const loginPath = options.loginPath ?? '/auth/login';
  const refreshPath = options.refreshPath ?? '/auth/refresh';
  const logoutPath = options.logoutPath ?? '/auth/logout';
  const keyName = options.keyName ?? 'nest-sessions-dpop-key';
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const encoder = new TextEncoder();
  let accessToken = null;
  let refreshToken = null;
  let nonce = null;
  let keys = null; // Promise<CryptoKeyPair>
  let header = null; // the proofs' protected header, base64url

  /** The key pair: the one kept in IndexedDB, else a new one kept there. */
  function keyPair() {
    keys ??= (async () => {
      const db = await openKeyStore();
      const stored = db ? await request(db.transaction('keys', 'readonly').objectStore('keys').get(keyName)) : null;
      if (stored) return stored;
      const made = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
      if (db) await request(db.transaction('keys', 'readwrite').objectStore('keys').put(made, keyName));
      return made;
    })();
    return keys;
  }

  async function proof(method, url, token) {
    const { privateKey, publicKey } = await keyPair();
    if (!header) {
      const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', publicKey);
      header = b64(encoder.encode(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })));
    }
    const htu = new URL(url, globalThis.location?.href);
    htu.search = '';
    htu.hash = '';
    const claims = { jti: crypto.randomUUID(), htm: method, htu: htu.href, iat: Math.floor(Date.now() / 1000) };
    if (nonce) claims.nonce = nonce;
    if (token) claims.ath = b64(await crypto.subtle.digest('SHA-256', encoder.encode(token)));
    const input = `${header}.${b64(encoder.encode(JSON.stringify(claims)))}`;
    return `${input}.${b64(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, encoder.encode(input)))}`;
  }

  /** One request with a proof (and the access token, when `token`); once more with the server's nonce if it asks for one. */
  async function send(method, path, init, token) {
    const url = base + path;
    for (let attempt = 0; ; attempt++) {
      const headers = new Headers(init.headers ?? {});
      headers.set('DPoP', await proof(method, url, token));
      if (token) headers.set('Authorization', `DPoP ${token}`);
      const response = await doFetch(url, { ...init, method, headers, credentials: 'omit' });
      const next = response.headers.get('DPoP-Nonce');
      if (next) nonce = next;
      const asksNonce = response.status === 401 && /error="use_dpop_nonce"/.test(response.headers.get('WWW-Authenticate') ?? '');
      if (!asksNonce || attempt > 0 || !next) return response;
    }
  }

  async function adopt(response) {
    if (!response.ok) return response;
    const body = await response.clone().json().catch(() => null);
    if (typeof body?.accessToken === 'string') accessToken = body.accessToken;
    if (typeof body?.refreshToken === 'string') refreshToken = body.refreshToken;
    return response;
  }

  const json = (body) => ({ headers: { 'content-type': 'application/json', 'x-session-transport': 'bearer' }, body: JSON.stringify(body) });

  async function refresh() {
    if (!refreshToken) return false;
    const response = await adopt(await send('POST', refreshPath, json({ refreshToken })));
    if (!response.ok) accessToken = refreshToken = null;
    return response.ok;
  }

  return {
    /** Logs in (`body` as the app's login route takes it); the session is bound to this browser's key. */
    async login(body) {
      return adopt(await send('POST', loginPath, json(body)));
    },
    /** `fetch` for the app's API with the access token and a proof; refreshes once on ACCESS_TOKEN_EXPIRED. */
    async fetch(path, init = {}) {
      const method = (init.method ?? 'GET').toUpperCase();
      let response = await send(method, path, init, accessToken);
      if (response.status === 401 && (await response.clone().json().catch(() => null))?.code === 'ACCESS_TOKEN_EXPIRED' && (await refresh())) {
        response = await send(method, path, init, accessToken);
      }
      return response;
    },
    refresh,
    /** Ends the session (the refresh token and a proof of the key) and forgets the tokens. */
    async logout() {
      const response = await send('POST', logoutPath, json({ refreshToken }));
      accessToken = refreshToken = null;
      return response;
    },
    get signedIn() {
      return accessToken !== null;
    },
  };
}

/** The key store: `nest-sessions-keys`, one object store `keys`; null without IndexedDB. */
function openKeyStore() {
  if (!globalThis.indexedDB) return Promise.resolve(null);
  return new Promise((resolve) => {
    const open = globalThis.indexedDB.open('nest-sessions-keys', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('keys');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => resolve(null);
  });
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function b64(bytes) {
  const view = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes;
  let text = '';
  for (const byte of view) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
