import request from 'supertest';
import { startApp, type TestApp } from './support/app';

// The scheme names are part of the documented surface: an app's own decorators may name them.
const SESSION_COOKIE_SCHEME = 'sessionCookie';
const SESSION_BEARER_SCHEME = 'sessionBearer';

type Method = 'get' | 'post' | 'delete';

interface ExpectedRoute {
  method: Method;
  /** OpenAPI path template (`{id}`, not `:id`). */
  path: string;
  /** Success status, then every failure status with codes its error body must list. */
  success: number;
  failures: Record<number, string[]>;
  /** Needs an access token (the cookie or a bearer token): both security requirements. */
  guarded: boolean;
}

/**
 * The table of the sample's HTTP surface, row by row (the page at `/` is left out of the
 * document on purpose). Written out here, not read from the document, so a route or a status
 * that goes missing fails. Beyond the table: the codes each status may carry.
 * Two readings of the table: "401, 403 (CSRF)" of `GET /notes, POST /notes` is split by method
 * (CSRF applies to the unsafe POST only); logout's 401 is not expected, since D4 settles that
 * logout "always clears the cookies and answers 204" (its documented failures are 403 and 503).
 */
const GUARD_401 = ['UNAUTHENTICATED', 'ACCESS_TOKEN_EXPIRED', 'SESSION_REVOKED'];
const ROUTES: ExpectedRoute[] = [
  { method: 'post', path: '/auth/register', success: 201, failures: { 400: ['VALIDATION_FAILED'], 409: ['EMAIL_TAKEN'] }, guarded: false },
  {
    method: 'post',
    path: '/auth/login',
    success: 200,
    failures: { 400: ['VALIDATION_FAILED'], 401: ['INVALID_CREDENTIALS'], 429: ['RATE_LIMITED'] },
    guarded: false,
  },
  { method: 'get', path: '/me', success: 200, failures: { 401: GUARD_401 }, guarded: true },
  {
    method: 'post',
    path: '/auth/refresh',
    success: 200,
    failures: { 401: ['UNAUTHENTICATED', 'SESSION_REVOKED', 'REAUTHENTICATION_REQUIRED'] },
    guarded: false,
  },
  { method: 'post', path: '/auth/logout', success: 204, failures: {}, guarded: false },
  { method: 'post', path: '/auth/logout-all', success: 204, failures: { 401: GUARD_401 }, guarded: true },
  { method: 'get', path: '/auth/sessions', success: 200, failures: { 401: GUARD_401 }, guarded: true },
  { method: 'delete', path: '/auth/sessions/{id}', success: 204, failures: { 401: GUARD_401, 404: ['NOT_FOUND'] }, guarded: true },
  { method: 'get', path: '/auth/csrf', success: 200, failures: { 401: GUARD_401 }, guarded: true },
  { method: 'get', path: '/notes', success: 200, failures: { 401: GUARD_401 }, guarded: true },
  { method: 'post', path: '/notes', success: 201, failures: { 401: GUARD_401, 403: ['CSRF_REJECTED'] }, guarded: true },
  { method: 'get', path: '/admin/ping', success: 200, failures: { 401: GUARD_401, 403: ['FORBIDDEN'] }, guarded: true },
  { method: 'get', path: '/whoami', success: 200, failures: { 401: GUARD_401 }, guarded: true },
  { method: 'get', path: '/health', success: 200, failures: { 503: ['SERVICE_UNAVAILABLE'] }, guarded: false },
];

interface Schema {
  type?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
}
interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
  security?: Record<string, string[]>[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  tags?: string[];
  summary?: string;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Partial<Record<Method, Operation>>>;
  components: { securitySchemes: Record<string, Record<string, unknown>> };
}

const schemaOf = (op: Operation, status: number): Schema | undefined => op.responses[String(status)]?.content?.['application/json']?.schema;

describe('OpenAPI document of the sample app', () => {
  let t: TestApp;
  let doc: OpenApiDocument;
  beforeAll(async () => {
    t = await startApp();
    const res = await request(t.server).get('/docs-json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    doc = JSON.parse(res.text) as OpenApiDocument;
  });
  afterAll(() => t.close());

  it('is an OpenAPI 3 document with the two security schemes of the library', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes[SESSION_COOKIE_SCHEME]).toMatchObject({ type: 'apiKey', in: 'cookie', name: '__Host-ns-at' });
    expect(doc.components.securitySchemes[SESSION_BEARER_SCHEME]).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  });

  describe.each(ROUTES.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))('%s', (_name, route) => {
    const operation = (): Operation => {
      const op = doc.paths[route.path]?.[route.method];
      if (!op) throw new Error(`${route.method.toUpperCase()} ${route.path} is missing from the document; it has ${JSON.stringify(Object.keys(doc.paths))}`);
      return op;
    };

    it('is documented with a summary and a tag', () => {
      expect(operation().summary).toEqual(expect.any(String));
      expect(operation().tags?.length).toBeGreaterThan(0);
    });

    it('lists its success and every failure status of the contract', () => {
      const documented = Object.keys(operation().responses).map(Number);
      expect(documented).toEqual(expect.arrayContaining([route.success, ...Object.keys(route.failures).map(Number)]));
    });

    it('gives every failure the { statusCode, code, message } body with its codes', () => {
      const op = operation();
      const failures = Object.keys(op.responses).map(Number).filter((s) => s >= 400);
      expect(failures.length).toBeGreaterThan(0);
      for (const status of failures) {
        const schema = schemaOf(op, status);
        expect({ status, required: schema?.required }).toEqual({ status, required: expect.arrayContaining(['statusCode', 'code', 'message']) });
        expect(schema?.properties?.code?.type).toBe('string');
        expect(schema?.properties?.statusCode?.enum).toEqual([status]);
        expect({ status, codes: schema?.properties?.code?.enum }).toEqual({ status, codes: expect.arrayContaining(route.failures[status] ?? [expect.any(String)]) });
      }
    });

    it(route.guarded ? 'requires the access cookie or a bearer token' : 'has no security requirement', () => {
      const security = operation().security ?? [];
      if (route.guarded) {
        expect(security).toHaveLength(2);
        expect(security).toEqual(expect.arrayContaining([{ [SESSION_COOKIE_SCHEME]: [] }, { [SESSION_BEARER_SCHEME]: [] }]));
      } else {
        expect(security).toEqual([]);
      }
    });
  });

  it('documents success bodies and the optional { refreshToken } of refresh', () => {
    const refresh = doc.paths['/auth/refresh']!.post!;
    expect(refresh.requestBody?.required).toBe(false);
    expect(refresh.requestBody?.content['application/json'].schema.properties?.refreshToken).toMatchObject({ type: 'string' });
    expect(schemaOf(refresh, 200)?.required).toEqual(expect.arrayContaining(['csrfToken', 'accessTokenExpiresAt']));
    expect(schemaOf(doc.paths['/auth/sessions']!.get!, 200)?.items?.required).toEqual(
      expect.arrayContaining(['id', 'createdAt', 'lastSeenAt', 'expiresAt', 'userAgent', 'ip', 'current']),
    );
    expect(schemaOf(doc.paths['/auth/login']!.post!, 200)?.required).toEqual(expect.arrayContaining(['user', 'csrfToken', 'accessTokenExpiresAt', 'sessionExpiresAt']));
    expect(schemaOf(doc.paths['/me']!.get!, 200)?.required).toEqual(expect.arrayContaining(['id', 'email', 'roles', 'sessionId']));
    expect(schemaOf(doc.paths['/health']!.get!, 200)?.properties?.status?.enum).toEqual(['ok']);
    expect(doc.paths['/auth/login']!.post!.requestBody?.content['application/json'].schema).toBeDefined();
  });

  it('leaves the web page out', () => {
    expect(doc.paths['/']).toBeUndefined();
    expect(doc.paths['/app.js']).toBeUndefined();
  });

  it('serves Swagger UI at /docs, public, under its own CSP with no inline script', async () => {
    const page = await request(t.server).get('/docs');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self';/);
    expect(page.text).not.toMatch(/<script>/);
    const scripts = [...page.text.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts).toEqual(['/docs/swagger-ui-bundle.js', '/docs/init.js']);
    for (const src of [...scripts, '/docs/swagger-ui.css']) {
      const asset = await request(t.server).get(src);
      expect({ src, status: asset.status }).toEqual({ src, status: 200 });
      expect(asset.text.length).toBeGreaterThan(0);
    }
    expect((await request(t.server).get('/docs/init.js')).text).toContain('"/docs-json"');
  });

  it('leaves the JSON-only rule in place: a form posted to /docs is still a 415', async () => {
    const res = await request(t.server).post('/docs').type('form').send('a=b');
    expect(res.status).toBe(415);
    expect(res.body).toEqual({ statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.any(String) });
  });
});

describe('OpenAPI under GLOBAL_PREFIX=api', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ GLOBAL_PREFIX: 'api' });
  });
  afterAll(() => t.close());

  it('serves the document and the UI under the prefix, with the prefixed paths', async () => {
    const res = await request(t.server).get('/api/docs-json');
    expect(res.status).toBe(200);
    const doc = JSON.parse(res.text) as OpenApiDocument;
    expect(doc.paths['/api/auth/refresh']?.post).toBeDefined();
    expect(doc.paths['/api/me']?.get?.security).toHaveLength(2);
    const page = await request(t.server).get('/api/docs');
    expect(page.status).toBe(200);
    expect(page.text).toContain('src="/api/docs/swagger-ui-bundle.js"');
    expect((await request(t.server).get('/api/docs/init.js')).text).toContain('"/api/docs-json"');
    expect((await request(t.server).get('/docs-json')).status).toBe(404);
  });
});
