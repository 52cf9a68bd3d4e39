/** Injection token of the validated, normalised options. */
export const RESOLVED_SESSION_OPTIONS = 'NEST_SESSIONS:RESOLVED_OPTIONS';
export const IS_PUBLIC_KEY = 'nest-sessions:public';
export const ROLES_KEY = 'nest-sessions:roles';
export const SKIP_CSRF_KEY = 'nest-sessions:skip-csrf';
/** Tokens and cookies above this size are refused before any decoding (docs/security.md case 12). */
export const MAX_TOKEN_BYTES = 4096;
/** Routes where CsrfGuard ignores a conflicting auth cookie instead of refusing (logout). */
export const CSRF_LENIENT_COOKIES_KEY = 'nest-sessions:csrf-lenient-cookies';
/** Injection token of the TypeORM DataSource holding `auth_sessions` (the app's, found by name). */
export const SESSION_DATA_SOURCE = 'NEST_SESSIONS:DATA_SOURCE';
/** Injection token of the resolved cleanup settings (`SessionCleanupModule` has no other options). */
export const SESSION_CLEANUP_OPTIONS = 'NEST_SESSIONS:CLEANUP_OPTIONS';
/** `@RequireFreshSession(maxAge)`: the route's maximum age of the last authentication, in ms. */
export const FRESH_SESSION_KEY = 'nest-sessions:fresh-session';
