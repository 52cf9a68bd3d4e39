import { applyDecorators } from '@nestjs/common';
import { optionalPeer } from '../optional-peer';
import { SESSION_BEARER_SCHEME, SESSION_COOKIE_SCHEME, sessionErrorSchema, type OpenApiSchema } from './session-openapi';

/**
 * The one door to `@nestjs/swagger`, an optional peer: the library's routes carry OpenAPI metadata
 * when the app has it installed, and these decorators do nothing when it has not. Nothing else in
 * the library touches the package, and nothing here is typed from it (its declarations must not
 * be needed to compile an app that does not install it).
 */

type AnyDecorator = MethodDecorator & ClassDecorator;

/** The part of `@nestjs/swagger` used here, typed structurally. */
interface Swagger {
  ApiTags(...tags: string[]): AnyDecorator;
  ApiOperation(options: { summary?: string; description?: string }): MethodDecorator;
  ApiResponse(options: { status: number; description: string; schema?: OpenApiSchema; headers?: Record<string, { description: string; schema: OpenApiSchema }> }): AnyDecorator;
  ApiBody(options: { required: boolean; description?: string; schema: OpenApiSchema }): MethodDecorator;
  ApiParam(options: { name: string; description?: string; schema: OpenApiSchema }): AnyDecorator;
  ApiHeader(options: { name: string; description?: string; required?: boolean; schema?: OpenApiSchema }): AnyDecorator;
  ApiSecurity(name: string, requirements?: string[]): AnyDecorator;
}

let loaded: Swagger | null | undefined;

/** `@nestjs/swagger`, or null when the app has not installed it (looked up once). */
function swagger(): Swagger | null {
  if (loaded === undefined) loaded = optionalPeer<Swagger>('@nestjs/swagger');
  return loaded;
}

const noop = (() => undefined) as unknown as AnyDecorator;

/** What `SessionGuard` answers a request without a usable access token with. */
export const GUARD_401_CODES = ['UNAUTHENTICATED', 'ACCESS_TOKEN_EXPIRED', 'SESSION_REVOKED'] as const;

/** Error codes a route may answer with, by HTTP status. */
export type ErrorCodesByStatus = Partial<Record<number, readonly string[]>>;

export interface RouteDoc {
  summary: string;
  description?: string;
  /** The success answer: its status, what it means and, unless it has no body, its schema. */
  success: { status: number; description: string; schema?: OpenApiSchema; headers?: Record<string, { description: string; schema: OpenApiSchema }> };
  /** Every failure status with the codes its `{ statusCode, code, message }` body may carry. */
  errors: ErrorCodesByStatus;
  /** The request body, when the route takes one. */
  body?: { required: boolean; description?: string; schema: OpenApiSchema };
  params?: { name: string; description?: string; schema: OpenApiSchema }[];
  headers?: { name: string; description?: string; required?: boolean; schema?: OpenApiSchema }[];
  /** The route needs an access token: the access cookie or `Authorization: Bearer` (either). */
  authenticated?: boolean;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid input.',
  401: 'Not authenticated.',
  403: 'Refused.',
  404: 'Not found.',
  409: 'Conflict.',
  413: 'The body is too large.',
  415: 'The body is not JSON.',
  429: 'Too many requests.',
  503: 'The session store is unavailable; retry later.',
};

/** The swagger decorators for an error answer: the common body with this status's codes. */
function errorResponses(s: Swagger, errors: ErrorCodesByStatus): AnyDecorator[] {
  return Object.entries(errors).map(([status, codes]) =>
    s.ApiResponse({
      status: Number(status),
      description: `${STATUS_TEXT[Number(status)] ?? 'Failed.'} Code: ${(codes ?? []).map((c) => `\`${c}\``).join(', ')}.`,
      schema: sessionErrorSchema(codes ?? [], Number(status)),
    }),
  );
}

/** The security requirement of a guarded route: the access cookie OR a bearer token. */
function securityOf(s: Swagger): AnyDecorator[] {
  return [s.ApiSecurity(SESSION_COOKIE_SCHEME), s.ApiSecurity(SESSION_BEARER_SCHEME)];
}

/** All of a route's OpenAPI metadata in one decorator (a no-op without `@nestjs/swagger`). */
export function ApiRoute(doc: RouteDoc): MethodDecorator {
  const s = swagger();
  if (!s) return noop;
  return applyDecorators(
    s.ApiOperation({ summary: doc.summary, description: doc.description }) as AnyDecorator,
    ...(doc.body ? [s.ApiBody(doc.body) as AnyDecorator] : []),
    ...(doc.params ?? []).map((p) => s.ApiParam(p)),
    ...(doc.headers ?? []).map((h) => s.ApiHeader(h)),
    s.ApiResponse(doc.success),
    ...errorResponses(s, doc.errors),
    ...(doc.authenticated ? securityOf(s) : []),
  );
}

/** Tags for a controller (a no-op without `@nestjs/swagger`). */
export function ApiTagged(...tags: string[]): ClassDecorator {
  const s = swagger();
  return s ? s.ApiTags(...tags) : noop;
}

/**
 * For an app's own guarded routes: the security requirement (the access cookie or a bearer token)
 * and the 401 and 503 answers `SessionGuard` gives, with their codes. A no-op without
 * `@nestjs/swagger`; on a controller, it applies to each of its routes.
 *
 * @example @Get('me') @UseGuards(SessionGuard) @ApiSessionAuth() me(@CurrentUser() user: SessionUser) {}
 */
export function ApiSessionAuth(): MethodDecorator & ClassDecorator {
  const s = swagger();
  if (!s) return noop;
  return applyDecorators(...securityOf(s), ...errorResponses(s, { 401: GUARD_401_CODES, 503: ['SERVICE_UNAVAILABLE'] }));
}

