import { Client } from 'pg';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { startAppProcess, type AppProcess } from '../support/processes';

const CHANNEL = 'nest_sessions_revocations';

/**
 * Any role that can NOTIFY (or publish on Redis) used to be able to make every instance
 * drop its cache. Now a forged or oversized payload is ignored and counted in the log, and the
 * instance keeps answering.
 */
describe.each([
  ['postgres', { REVOCATION_BUS: 'postgres' }],
  ['redis', { REVOCATION_BUS: 'redis' }],
])('forged revocation messages on the %s channel', (bus, env) => {
  let app: AppProcess;
  beforeAll(async () => {
    app = await startAppProcess(env);
  }, 60_000);
  afterAll(() => app?.stop());

  it('are ignored and logged once with a count', async () => {
    const forged = [JSON.stringify({ origin: 'attacker', sessionIds: [randomUUID()] }), JSON.stringify({ o: 'x', s: [], t: Date.now(), m: 'AAAA' }), 'not json'];
    // Wait until the listener is up (the health check says so), then send them.
    for (let i = 0; i < 100; i++) {
      const health = await fetch(`${app.url}/health`);
      if (health.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (bus === 'postgres') {
      const client = new Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      for (const payload of forged) await client.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
      await client.end();
    } else {
      const redis = new Redis(process.env.REDIS_URL!);
      for (const payload of forged) await redis.publish(CHANNEL, payload);
      await redis.publish(CHANNEL, 'x'.repeat(200_000));
      redis.disconnect();
    }
    const started = Date.now();
    while (!app.output.join('').includes('revocation message(s) that failed authentication') && Date.now() - started < 5_000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(app.output.join('')).toMatch(/ignored \d+ revocation message\(s\) that failed authentication/);
    expect((await fetch(`${app.url}/health`)).status).toBe(200);
  });
});
