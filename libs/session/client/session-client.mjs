// nest-sessions/client: a fetch wrapper for browser pages that use the cookie transport. No
// dependencies; plain ESM, typed by session-client.d.ts.
//
// - Sends the CSRF token (x-csrf-token) on unsafe requests: from the last login or refresh body,
//   else the readable CSRF cookie.
// - Refreshes ahead of accessTokenExpiresAt, and on ACCESS_TOKEN_EXPIRED refreshes once and
//   retries the request.
// - Exactly one refresh runs for all concurrent callers: one promise in a tab, and a Web Lock
//   across the tabs of the browser (after waiting for the lock, a tab whose session another tab
//   has just refreshed does not refresh again). Without Web Locks, tabs coordinate through
//   localStorage only; the server's grace window absorbs the rare overlap.
// - SESSION_REVOKED and REAUTHENTICATION_REQUIRED (or a refresh that fails for good) end in one
//   `signedout` event.

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const SIGNED_OUT_CODES = new Set(['SESSION_REVOKED', 'REAUTHENTICATION_REQUIRED', 'UNAUTHENTICATED']);

export function createSessionClient(options = {}) {
  const base = (options.baseUrl ?? '').replace(/\/$/, '');
  const refreshPath = options.refreshPath ?? '/auth/refresh';
  const loginPath = options.loginPath ?? '/auth/login';
  const csrfHeader = options.csrfHeader ?? 'x-csrf-token';
  const csrfCookies = options.csrfCookies ?? ['__Host-ns-csrf', 'ns-csrf'];
  const refreshAheadMs = options.refreshAheadMs ?? 30_000;
  const lockName = options.lockName ?? 'nest-sessions-refresh';
  const storageKey = `${lockName}:state`;
  const credentials = options.credentials ?? 'same-origin';
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const events = new EventTarget();

  let csrfToken = null;
  let expiresAt = null; // ms since epoch, when the access token expires
  let lifetime = null; // ms the current access token was issued for, as far as this tab saw
  let inFlight = null;
  let refreshCount = 0;

  /** State another tab wrote: { refreshedAt, expiresAt, csrfToken }. */
  function shared() {
    try {
      return JSON.parse(globalThis.localStorage?.getItem(storageKey) ?? 'null');
    } catch {
      return null;
    }
  }

  function share(state) {
    try {
      globalThis.localStorage?.setItem(storageKey, JSON.stringify(state));
    } catch {
      // Storage may be unavailable (private mode): each tab then keeps its own view.
    }
  }

  function adopt(body) {
    if (!body || typeof body !== 'object') return;
    if (typeof body.csrfToken === 'string') csrfToken = body.csrfToken;
    if (typeof body.accessTokenExpiresAt === 'string') {
      expiresAt = Date.parse(body.accessTokenExpiresAt);
      lifetime = Math.max(0, expiresAt - Date.now());
    }
  }

  function currentCsrf() {
    const other = shared();
    if (other && typeof other.csrfToken === 'string') return other.csrfToken;
    if (csrfToken) return csrfToken;
    for (const name of csrfCookies) {
      const hit = globalThis.document?.cookie.split('; ').find((c) => c.startsWith(`${name}=`));
      if (hit) return hit.slice(name.length + 1);
    }
    return null;
  }

  function knownExpiry() {
    const other = shared();
    return Math.max(expiresAt ?? 0, other?.expiresAt ?? 0) || null;
  }

  function signedOut(code) {
    csrfToken = null;
    expiresAt = null;
    share(null);
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

  /** One refresh round trip; true when the session goes on. */
  async function refreshNow() {
    const headers = {};
    const token = currentCsrf();
    if (token) headers[csrfHeader] = token;
    const response = await doFetch(base + refreshPath, { method: 'POST', headers, credentials });
    if (!response.ok) {
      const code = await codeOf(response);
      if (response.status === 401) signedOut(code ?? 'UNAUTHENTICATED');
      return false;
    }
    refreshCount += 1;
    adopt(await response.json().catch(() => null));
    share({ refreshedAt: Date.now(), expiresAt, csrfToken });
    return true;
  }

  /**
   * Refreshes the session once for every caller: concurrent calls in a tab share one promise, and
   * tabs queue on a Web Lock; a tab that waited while another refreshed adopts that result.
   */
  function refresh() {
    if (inFlight) return inFlight;
    const askedAt = Date.now();
    const run = async () => {
      const other = shared();
      if (other && other.refreshedAt >= askedAt) {
        adopt({ csrfToken: other.csrfToken, accessTokenExpiresAt: other.expiresAt ? new Date(other.expiresAt).toISOString() : undefined });
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

  function withCsrf(init) {
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers ?? {});
    const token = currentCsrf();
    if (UNSAFE.has(method) && token && !headers.has(csrfHeader)) headers.set(csrfHeader, token);
    return { ...init, method, headers, credentials: init.credentials ?? credentials };
  }

  /** fetch() for the app's own API: CSRF header, refresh ahead and on expiry, one retry. */
  async function sessionFetch(path, init = {}) {
    const url = /^https?:/.test(path) ? path : base + path;
    const expiry = knownExpiry();
    // Ahead by refreshAheadMs, but never more than a quarter of the token's life (short-lived tokens).
    const ahead = lifetime === null ? refreshAheadMs : Math.min(refreshAheadMs, lifetime / 4);
    if (expiry !== null && Date.now() >= expiry - ahead) await refresh();
    let response = await doFetch(url, withCsrf(init));
    let code = await codeOf(response);
    if (code === 'ACCESS_TOKEN_EXPIRED' && (await refresh())) {
      response = await doFetch(url, withCsrf(init));
      code = await codeOf(response);
    }
    if (code && SIGNED_OUT_CODES.has(code) && code !== 'UNAUTHENTICATED') signedOut(code);
    if (response.ok && (url.endsWith(loginPath) || url.endsWith(refreshPath))) {
      adopt(await response.clone().json().catch(() => null));
      share({ refreshedAt: Date.now(), expiresAt, csrfToken });
    }
    return response;
  }

  return {
    fetch: sessionFetch,
    refresh,
    adopt,
    /** Forget the session locally (after a logout). */
    clear() {
      csrfToken = null;
      expiresAt = null;
      share(null);
    },
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
