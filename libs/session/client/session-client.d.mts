/** Options of `createSessionClient`. Defaults match the library's defaults. */
export interface SessionClientOptions {
  /** Prefix of the app's routes, e.g. a global prefix: `'/api'`. Default `''` (same origin). */
  baseUrl?: string;
  /** Default `'/auth/refresh'`. */
  refreshPath?: string;
  /** Responses to this path (and to `refreshPath`) are adopted: CSRF token, expiry. Default `'/auth/login'`. */
  loginPath?: string;
  /** Responses to these paths end the session locally. Default `['/auth/logout', '/auth/logout-all']`. */
  logoutPaths?: string[];
  /** Default `'x-csrf-token'`. Sent only to the app's own origin. */
  csrfHeader?: string;
  /** The readable CSRF cookies (the current session's token; preferred). Default `['__Host-ns-csrf', 'ns-csrf']`. */
  csrfCookies?: string[];
  /** Refresh this long before the access token expires (at most a quarter of its life). Default 30,000 ms. */
  refreshAheadMs?: number;
  /** Web Lock (and localStorage key prefix) shared by the tabs. Default `'nest-sessions-refresh'`. */
  lockName?: string;
  /** Default `'same-origin'`; `'include'` for a front end on another origin of the same site. */
  credentials?: RequestCredentials;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
}

/** Why the client considers the session over. */
export interface SignedOutDetail {
  code: 'SESSION_REVOKED' | 'REAUTHENTICATION_REQUIRED' | 'UNAUTHENTICATED' | string;
}

export interface SessionClient {
  /** `fetch` for the app's API: sends the CSRF header, refreshes ahead of expiry and on `ACCESS_TOKEN_EXPIRED` (then retries once). */
  fetch(path: string | URL, init?: RequestInit): Promise<Response>;
  /** Refreshes once for every concurrent caller, in this tab and across tabs. Resolves false when the session has ended. */
  refresh(since?: number): Promise<boolean>;
  /** Adopts a login or refresh body (`csrfToken`, `accessTokenExpiresAt`). */
  adopt(body: { csrfToken?: string; accessTokenExpiresAt?: string; deviceBinding?: boolean }): void;
  /** Forgets the session locally (after a logout). */
  clear(): void;
  /** How many refresh round trips this tab made. */
  readonly refreshCount: number;
  /** When the access token expires, as far as this tab knows. */
  readonly accessTokenExpiresAt: Date | null;
  addEventListener(type: 'signedout', listener: (event: CustomEvent<SignedOutDetail>) => void): void;
  removeEventListener(type: 'signedout', listener: (event: CustomEvent<SignedOutDetail>) => void): void;
}

export function createSessionClient(options?: SessionClientOptions): SessionClient;

/** Options of `createDpopClient`. Defaults match the library's routes. */
export interface DpopClientOptions {
  /** The app's address (another site's front end names it): `'https://api.example.com'`. Default `''` (same origin). */
  baseUrl?: string;
  /** Default `'/auth/login'`. */
  loginPath?: string;
  /** Default `'/auth/refresh'`. */
  refreshPath?: string;
  /** Default `'/auth/logout'`. */
  logoutPath?: string;
  /** The IndexedDB entry holding the key pair. Default `'nest-sessions-dpop-key'`. */
  keyName?: string;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
}

export interface DpopClient {
  /** Logs in with the app's login body; the session is bound to this browser's non-extractable key. */
  login(body: unknown): Promise<Response>;
  /** `fetch` for the app's API: `Authorization: DPoP` and a fresh proof; refreshes once on `ACCESS_TOKEN_EXPIRED`. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Rotates the refresh token with a proof; false when the session has ended. */
  refresh(): Promise<boolean>;
  /** Ends the session and forgets the tokens. */
  logout(): Promise<Response>;
  readonly signedIn: boolean;
}

/** DPoP (RFC 9449) for the bearer transport: a front end on another site, tokens in memory, the key in IndexedDB. */
export function createDpopClient(options?: DpopClientOptions): DpopClient;
