import { SESSION_DEFAULTS } from '../session.defaults';
import type { SessionCookieOptions } from '../session.options';

/**
 * OpenAPI pieces an app adds to its own document. Plain data: nothing here needs
 * `@nestjs/swagger` (an optional peer), so importing it costs nothing when the app has none.
 */

/** Name of the security scheme for the access cookie (`__Host-ns-at` by default). */
export const SESSION_COOKIE_SCHEME = 'sessionCookie';
/** Name of the security scheme for `Authorization: Bearer <access token>` (a JWT). */
export const SESSION_BEARER_SCHEME = 'sessionBearer';

/** The subset of an OpenAPI 3.0 schema object the library writes. */
export interface OpenApiSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  nullable?: boolean;
  enum?: (string | number | boolean)[];
  example?: unknown;
  required?: string[];
  properties?: Record<string, OpenApiSchema>;
  items?: OpenApiSchema;
  additionalProperties?: boolean;
}

/**
 * An OpenAPI security scheme (the two kinds the library uses). A type alias, not an interface, so
 * that it fits `DocumentBuilder.addSecurity`'s `SecuritySchemeObject` (which has an index signature).
 */
export type SessionSecurityScheme = {
  type: 'apiKey' | 'http';
  description: string;
  in?: 'cookie';
  name?: string;
  scheme?: 'bearer';
  bearerFormat?: 'JWT';
};

/** Options of `addSessionSecurity` and `sessionSecuritySchemes`: the app's cookie settings. */
export interface SessionSecurityOptions {
  /**
   * The cookie settings given to `SessionModule` (`secure` and `accessName` decide the access
   * cookie's name: `__Host-ns-at` by default, `ns-at` with `secure: false`).
   */
  cookies?: Pick<SessionCookieOptions, 'secure' | 'accessName'>;
}

/** The two security schemes by name: the access cookie (an API key in a cookie) and bearer JWT. */
export function sessionSecuritySchemes(options: SessionSecurityOptions = {}): Record<string, SessionSecurityScheme> {
  const secure = options.cookies?.secure ?? SESSION_DEFAULTS.cookies.secure;
  const cookieName = `${secure ? '__Host-' : ''}${options.cookies?.accessName ?? SESSION_DEFAULTS.cookies.accessName}`;
  return {
    [SESSION_COOKIE_SCHEME]: {
      type: 'apiKey',
      in: 'cookie',
      name: cookieName,
      description:
        'The access token in its HttpOnly cookie, set at login and rotated by POST /auth/refresh (browsers). ' +
        'Unsafe requests authenticated by cookie also need the CSRF token in the `x-csrf-token` header.',
    },
    [SESSION_BEARER_SCHEME]: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'The access token from a bearer login or refresh (`X-Session-Transport: bearer`), as `Authorization: Bearer <token>`. No CSRF token needed.',
    },
  };
}

/** Anything with `DocumentBuilder`'s `addSecurity(name, scheme)`. */
export interface SecuritySchemeBuilder {
  /** Adds a security scheme to the document under `name`. */
  addSecurity(name: string, scheme: SessionSecurityScheme): unknown;
}

/**
 * Adds the library's two security schemes to an app's `DocumentBuilder`, which the library's
 * guarded routes (and `@ApiSessionAuth()` routes) refer to by `SESSION_COOKIE_SCHEME` and
 * `SESSION_BEARER_SCHEME`. Pass the cookie settings given to `SessionModule` if they change the
 * access cookie's name.
 *
 * @example
 * const config = addSessionSecurity(new DocumentBuilder().setTitle('My API')).build();
 * SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, config));
 */
export function addSessionSecurity<B extends SecuritySchemeBuilder>(builder: B, options: SessionSecurityOptions = {}): B {
  for (const [name, scheme] of Object.entries(sessionSecuritySchemes(options))) builder.addSecurity(name, scheme);
  return builder;
}

/**
 * The schema of every error body, `{ statusCode, code, message }`, with the codes
 * the answer may carry (any string when none are given) and, given a status, its `statusCode`.
 */
export function sessionErrorSchema(codes: readonly string[] = [], status?: number): OpenApiSchema {
  return {
    type: 'object',
    required: ['statusCode', 'code', 'message'],
    properties: {
      statusCode: { type: 'integer', ...(status === undefined ? {} : { enum: [status], example: status }) },
      code: { type: 'string', description: 'Stable error code: branch on it, not on the message.', ...(codes.length ? { enum: [...codes], example: codes[0] } : {}) },
      message: { type: 'string', description: 'A fixed, human-readable text (never echoes input).' },
    },
  };
}
