import request from 'supertest';
import { DataSource } from 'typeorm';
import { SessionHealthIndicator } from 'nest-sessions';
import { startApp, type TestApp } from './support/app';
import { healthUntil } from './support/health';

/**
 * `GET /health` through `@nestjs/terminus` with the library's `SessionHealthIndicator`. On the
 * embedded engine there is no broadcast (`REVOCATION_BUS=none`), so the listener is not
 * applicable; `npm run test:server` kills a real listener (test/server/health.server-spec.ts).
 */
describe('health', () => {
  describe('a healthy app', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp();
    });
    afterAll(() => t.close());

    it('answers 200 { status: ok, db: up } with the listener, not cached', async () => {
      const res = await healthUntil(t.server);
      expect(res.status).toBe(200);
      const listener = t.app.get(SessionHealthIndicator).revocationListenerCheck('l').l.listener;
      expect(res.body).toEqual({ status: 'ok', db: 'up', revocationListener: listener === 'not-applicable' ? 'not-applicable' : 'up' });
      expect(res.headers['cache-control']).toBe('no-cache, no-store, must-revalidate');
    });

    it('the indicator gives terminus results under the keys the app chooses', async () => {
      const indicator = t.app.get(SessionHealthIndicator);
      expect(await indicator.pingCheck('sessionDb')).toEqual({ sessionDb: { status: 'up' } });
      const listener = indicator.revocationListenerCheck('listener');
      if (process.env.NS_TEST_ENGINE === 'embedded') {
        expect(listener).toEqual({ listener: { status: 'up', listener: 'not-applicable' } });
      } else {
        // On a server the sample listens through Postgres (connected: the test above saw a 200).
        expect(listener).toEqual({ listener: { status: 'up', listener: 'connected', transport: 'postgres' } });
      }
    });
  });

  it('stateless mode has no listener: reported up, not applicable', async () => {
    const t = await startApp({ SESSION_REVOCATION: 'stateless' });
    try {
      expect(t.app.get(SessionHealthIndicator).revocationListenerCheck('revocationListener')).toEqual({
        revocationListener: { status: 'up', listener: 'not-applicable' },
      });
      expect((await request(t.server).get('/health')).body).toEqual({ status: 'ok', db: 'up', revocationListener: 'not-applicable' });
    } finally {
      await t.close();
    }
  });

  it.each(['express', 'fastify'])('database down (%s): 503 { statusCode, code, message } naming the database, with no error text, SQL or URL', async (adapter) => {
    const t = await startApp({ HTTP_ADAPTER: adapter });
    try {
      expect((await healthUntil(t.server)).status).toBe(200);
      const before = t.logger.lines.length;
      await t.app.get(DataSource).destroy();
      const res = await request(t.server).get('/health');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ statusCode: 503, code: 'SERVICE_UNAVAILABLE', message: 'Unavailable: the database does not answer.' });
      expect(await t.app.get(SessionHealthIndicator).pingCheck('db')).toEqual({ db: { status: 'down', reason: 'unavailable' } });
      const logged = t.logger.lines.slice(before).join('\n');
      expect(logged).toContain('Health Check has failed');
      for (const text of [JSON.stringify(res.body), logged]) {
        expect(text).not.toMatch(/select|postgres:\/\/|password|stack|Error:/i);
      }
    } finally {
      await t.close().catch(() => undefined);
    }
  });
});
