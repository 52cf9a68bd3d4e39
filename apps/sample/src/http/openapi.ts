import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { applyDecorators, type INestApplication } from '@nestjs/common';
import { ApiResponse, DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { addSessionSecurity, sessionErrorSchema } from 'nest-sessions';
import type { SampleConfig } from '../config/sample-config';

/** What each failure status means, before its codes (the sample's codes beside the library's). */
const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid input.',
  401: 'Not authenticated.',
  403: 'Refused.',
  409: 'Conflict.',
  413: 'The body is too large.',
  415: 'The body is not JSON.',
  429: 'Too many requests; see `Retry-After`.',
  503: 'The database is unavailable; retry later.',
};

/** Error answers with the `{ statusCode, code, message }` body and the codes each status may carry. */
export function ApiErrors(errors: Record<number, readonly string[]>): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...Object.entries(errors).map(([status, codes]) =>
      ApiResponse({
        status: Number(status),
        description: `${STATUS_TEXT[Number(status)] ?? 'Failed.'} Code: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
        schema: sessionErrorSchema(codes, Number(status)),
      }),
    ),
  );
}

/** Every JSON body is refused with 415 unless it is `application/json`, and over 16 KiB with 413. */
export const BODY_ERRORS = { 413: ['VALIDATION_FAILED'], 415: ['UNSUPPORTED_MEDIA_TYPE'] } as const;

/**
 * The page's CSP, with `data:` images (Swagger UI's icons). No inline script: the page loads the
 * Swagger UI bundle and its start script from the app itself.
 */
const DOCS_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

/**
 * The OpenAPI document at `/docs-json` and Swagger UI at `/docs` (under the global prefix, if
 * any), on Express and Fastify alike. Both are registered on the HTTP adapter directly, so they
 * are public and outside the app's guards; they take no body, so the JSON-only middleware passes
 * them. Swagger UI's assets come from `swagger-ui-dist` (a dependency of `@nestjs/swagger`) and
 * are served here rather than by `SwaggerModule`, which would need `@fastify/static` on Fastify.
 */
export function setupOpenApi(app: INestApplication, config: SampleConfig): void {
  const prefix = config.globalPrefix ? `/${config.globalPrefix}` : '';
  const document = addSessionSecurity(
    new DocumentBuilder()
      .setTitle('nest-sessions sample app')
      .setDescription(
        'Every error body is `{ statusCode, code, message }`; branch on `code`. Browsers authenticate with the access cookie and send ' +
          'the CSRF token in `x-csrf-token` on unsafe requests; other clients log in with `X-Session-Transport: bearer` and send ' +
          '`Authorization: Bearer <access token>`.',
      )
      .setVersion('1')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A service key from `SERVICE_API_KEYS` (`GET /stats` only).' }, 'api-key'),
    { cookies: config.session.cookies },
  ).build();
  // Built on the first request, once every route (and the global prefix) is in place.
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, document), { useGlobalPrefix: true, ui: false, raw: ['json'] });

  const adapter = app.getHttpAdapter();
  const page = (type: string, body: () => string, extra: Record<string, string> = {}) => (_req: unknown, res: unknown) => {
    adapter.setHeader(res, 'Content-Type', type);
    adapter.setHeader(res, 'X-Content-Type-Options', 'nosniff');
    for (const [name, value] of Object.entries(extra)) adapter.setHeader(res, name, value);
    adapter.reply(res, body(), 200);
  };
  const html = docsHtml(prefix);
  const htmlHeaders = { 'Content-Security-Policy': DOCS_CSP, 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'same-origin', 'Cache-Control': 'no-cache' };
  adapter.get(`${prefix}/docs`, page('text/html; charset=utf-8', () => html, htmlHeaders));
  const init = initScript(prefix, csrfCookieName(config));
  adapter.get(`${prefix}/docs/init.js`, page('text/javascript; charset=utf-8', () => init, { 'Cache-Control': 'no-cache' }));
  for (const [file, type] of [
    ['swagger-ui.css', 'text/css; charset=utf-8'],
    ['swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
  ] as const) {
    let content: string | undefined;
    adapter.get(`${prefix}/docs/${file}`, page(type, () => (content ??= readFileSync(join(swaggerUiDist(), file), 'utf8')), { 'Cache-Control': 'public, max-age=3600' }));
  }
}

/** swagger-ui-dist's folder, found from `@nestjs/swagger` (whose dependency it is). */
function swaggerUiDist(): string {
  return dirname(require.resolve('swagger-ui-dist/package.json', { paths: [dirname(require.resolve('@nestjs/swagger'))] }));
}

/** The CSRF cookie the page's requests copy into `x-csrf-token` (the sample keeps the default names). */
function csrfCookieName(config: SampleConfig): string {
  return `${config.session.cookies?.secure === false ? '' : '__Host-'}ns-csrf`;
}

function docsHtml(prefix: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nest-sessions sample: API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${prefix}/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${prefix}/docs/swagger-ui-bundle.js"></script>
<script src="${prefix}/docs/init.js"></script>
</body>
</html>
`;
}

/**
 * Starts Swagger UI on the document. "Try it out" runs on the page's own origin, so the browser
 * sends the session cookies itself; unsafe requests get the CSRF token from its readable cookie.
 */
function initScript(prefix: string, csrfCookie: string): string {
  return `'use strict';
window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(`${prefix}/docs-json`)},
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  requestInterceptor: function (req) {
    if (!/^(GET|HEAD|OPTIONS)$/i.test(req.method || 'GET') && !req.headers['x-csrf-token']) {
      var name = ${JSON.stringify(csrfCookie)} + '=';
      var found = document.cookie.split('; ').find(function (c) { return c.indexOf(name) === 0; });
      if (found) req.headers['x-csrf-token'] = decodeURIComponent(found.slice(name.length));
    }
    return req;
  },
});
`;
}
