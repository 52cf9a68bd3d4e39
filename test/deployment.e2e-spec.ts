import request from 'supertest';
import { startApp, type TestApp } from './support/app';
import { healthUntil } from './support/health';
import { fastifyTrustProxy } from '../apps/sample/src/app.factory';
import { loadSampleHttpConfig } from '../apps/sample/src/config/sample-config';

/**
 * Either HTTP adapter, a global prefix and a trusted proxy, each
 * answering with the same `{ statusCode, code, message }` bodies.
 */
describe.each(['express', 'fastify'] as const)('deployment on %s', (adapter) => {
  describe('defaults', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp({ HTTP_ADAPTER: adapter });
    });
    afterAll(() => t.close());

    it('boots on the adapter HTTP_ADAPTER names, with /health at the root', async () => {
      expect(t.adapter).toBe(adapter);
      const health = await healthUntil(t.server); // on a server, 503 until the revocation listener has connected
      expect(health.status).toBe(200);
      expect(health.body).toEqual({ status: 'ok', db: 'up', revocationListener: expect.stringMatching(/^(up|not-applicable)$/) });
      expect(health.headers['x-powered-by']).toBeUndefined();
    });

    it.each([
      ['text/plain', 'hello'],
      ['application/x-www-form-urlencoded', 'email=a%40example.test&password=x'],
      ['application/xml', '<credentials/>'],
    ])('a %s body is 415 UNSUPPORTED_MEDIA_TYPE', async (type, body) => {
      const res = await request(t.server).post('/auth/register').set('Content-Type', type).send(body);
      expect(res.status).toBe(415);
      expect(res.body).toEqual({ statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.any(String) });
    });

    it('malformed JSON is 400 VALIDATION_FAILED, without the parser message', async () => {
      const res = await request(t.server).post('/auth/register').set('Content-Type', 'application/json').send('{"email": ');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ statusCode: 400, code: 'VALIDATION_FAILED', message: 'The request is invalid.' });
    });

    it('a JSON body over 16 kB is 413 with a code', async () => {
      const res = await request(t.server).post('/auth/register').send({ email: 'big@example.test', password: 'x'.repeat(20 * 1024) });
      expect(res.status).toBe(413);
      expect(res.body).toEqual({ statusCode: 413, code: 'VALIDATION_FAILED', message: 'The request body is too large.' });
    });

    it('an unknown route is 404 NOT_FOUND', async () => {
      const res = await request(t.server).get('/no/such/route');
      expect(res.body).toEqual({ statusCode: 404, code: 'NOT_FOUND', message: expect.any(String) });
    });
  });

  describe('GLOBAL_PREFIX=api', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp({ HTTP_ADAPTER: adapter, GLOBAL_PREFIX: '/api/' });
    });
    afterAll(() => t.close());

    it('moves every route under /api', async () => {
      expect((await healthUntil(t.server, 200, { path: '/api/health' })).status).toBe(200);
      const root = await request(t.server).get('/health');
      expect(root.status).toBe(404);
      expect(root.body).toEqual({ statusCode: 404, code: 'NOT_FOUND', message: expect.any(String) });
    });

    it('serves the page with its script under the prefix', async () => {
      const page = await request(t.server).get('/api');
      expect(page.status).toBe(200);
      expect(page.text).toContain('<script type="module" src="/api/app.js"></script>');
      expect((await request(t.server).get('/api/app.js')).status).toBe(200);
      const client = await request(t.server).get('/api/session-client.mjs');
      expect([client.status, client.headers['content-type']]).toEqual([200, 'text/javascript; charset=utf-8']);
      expect(client.text).toContain('export function createSessionClient');
    });

    it('still refuses other body types with 415 under the prefix', async () => {
      const res = await request(t.server).post('/api/auth/register').set('Content-Type', 'text/plain').send('hello');
      expect(res.status).toBe(415);
      expect(res.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });
  });

  describe('TRUST_PROXY', () => {
    // The login limit is per client IP: behind a trusted proxy that is the forwarded address.
    const loginsFrom = async (t: TestApp, ip: string, count: number) => {
      const statuses: number[] = [];
      for (let i = 0; i < count; i++) {
        const res = await request(t.server).post('/auth/login').set('X-Forwarded-For', ip).send({ email: 'nobody@example.test', password: 'wrong password' });
        statuses.push(res.status);
      }
      return statuses;
    };

    it.each([['1'], ['loopback'], ['127.0.0.1/8'], ['true']])('TRUST_PROXY=%s: each forwarded client has its own login limit', async (trust) => {
      const t = await startApp({ HTTP_ADAPTER: adapter, TRUST_PROXY: trust, LOGIN_RATE_LIMIT: '2' });
      try {
        expect((await loginsFrom(t, '203.0.113.1', 3))[2]).toBe(429);
        expect(await loginsFrom(t, '203.0.113.2', 1)).not.toContain(429);
      } finally {
        await t.close();
      }
    });

    it('off by default: a forwarded address is ignored', async () => {
      const t = await startApp({ HTTP_ADAPTER: adapter, LOGIN_RATE_LIMIT: '2' });
      try {
        expect((await loginsFrom(t, '203.0.113.1', 3))[2]).toBe(429);
        expect(await loginsFrom(t, '203.0.113.2', 1)).toEqual([429]);
      } finally {
        await t.close();
      }
    });
  });
});

describe('deployment settings', () => {
  it('a bad HTTP_ADAPTER stops the start, naming the choices', async () => {
    await expect(startApp({ HTTP_ADAPTER: 'koa' })).rejects.toThrow('HTTP_ADAPTER must be "express" or "fastify"; got "koa"');
  });

  it.each([['yes'], ['10.0.0.0/33'], ['example.com'], ['1.2.3.4, nonsense']])('TRUST_PROXY=%s stops the start', async (trust) => {
    await expect(startApp({ TRUST_PROXY: trust })).rejects.toThrow(/TRUST_PROXY must be "true", "false", a hop count/);
  });

  it('GLOBAL_PREFIX refuses anything but path segments', async () => {
    await expect(startApp({ GLOBAL_PREFIX: 'api/:id' })).rejects.toThrow(/GLOBAL_PREFIX must be a path/);
  });

  it('reads Express trust proxy values, and gives Fastify their meaning', () => {
    const read = (TRUST_PROXY?: string) => loadSampleHttpConfig({ TRUST_PROXY }).trustProxy;
    expect(read()).toBe(false);
    expect(read('false')).toBe(false);
    expect(read('0')).toBe(false);
    expect(read('true')).toBe(true);
    expect(read('2')).toBe(2);
    expect(read('loopback, 10.0.0.0/8,::1')).toEqual(['loopback', '10.0.0.0/8', '::1']);
    const hops = fastifyTrustProxy(2) as (address: string, hop: number) => boolean;
    expect([0, 1, 2].map((hop) => hops('10.0.0.1', hop))).toEqual([true, true, false]);
    expect(fastifyTrustProxy(['loopback'])).toEqual(['loopback']);
    expect(loadSampleHttpConfig({}).httpAdapter).toBe('express');
    expect(loadSampleHttpConfig({ GLOBAL_PREFIX: '//api/v1/' }).globalPrefix).toBe('api/v1');
  });
});
