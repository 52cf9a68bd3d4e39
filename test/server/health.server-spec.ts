import request from 'supertest';
import { Client } from 'pg';
import Redis from 'ioredis';
import { randomInt } from 'node:crypto';
import { startAppProcess, type AppProcess } from '../support/processes';
import { healthUntil } from '../support/health';

/**
 * `GET /health` and the revocation listener, on a fresh app process each: killed, the listener
 * makes /health answer 503 (the database still answers) until it has reconnected, then 200.
 * Only this app's listener is killed (this database; this Redis database number), never others'.
 */
const HEALTHY = { status: 'ok', db: 'up', revocationListener: 'up' };
const LISTENER_DOWN = { statusCode: 503, code: 'SERVICE_UNAVAILABLE', message: 'Unavailable: the revocation listener is disconnected.' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Right after the listener is killed: 503 naming the listener, then 200 once it reconnects. */
async function expectDownThenBack(url: string): Promise<void> {
  const down = await healthUntil(url, 503, { limitMs: 2_000, intervalMs: 0 });
  expect(down.status).toBe(503);
  expect(down.body).toEqual(LISTENER_DOWN);
  const back = await healthUntil(url, 200, { limitMs: 15_000 });
  expect(back.status).toBe(200);
  expect(back.body).toEqual(HEALTHY);
}

describe('health: the Postgres LISTEN connection', () => {
  let app: AppProcess;
  let admin: Client;
  const dbName = new URL(process.env.DATABASE_URL!).pathname.slice(1);

  beforeAll(async () => {
    app = await startAppProcess({ REVOCATION_BUS: 'postgres' });
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = '/postgres';
    admin = new Client({ connectionString: url.toString() });
    await admin.connect();
  }, 60_000);
  afterAll(async () => {
    await admin?.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);
    await admin?.end();
    await app?.stop();
  });

  const killListener = async () =>
    (await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'nest-sessions-listener' AND datname = $1`, [dbName]))
      .rowCount;

  it('killed: 503 until the listener reconnects (within its first backoff), then 200', async () => {
    const up = await healthUntil(app.url);
    expect(up.status).toBe(200);
    expect(up.body).toEqual(HEALTHY);
    expect(await killListener()).toBe(1);
    await expectDownThenBack(app.url);
  });

  it('kept from reconnecting: 503 the whole time though the database answers, 200 once it is back', async () => {
    expect((await healthUntil(app.url)).status).toBe(200); // also warms the pool's connection
    await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS false`); // new connections only
    try {
      expect(await killListener()).toBe(1);
      for (let i = 0; i < 8; i++) {
        await sleep(150);
        const res = await request(app.url).get('/health');
        expect(res.status).toBe(503);
        expect(res.body).toEqual(LISTENER_DOWN); // the pool's open connection still answers SELECT 1
        expect(JSON.stringify(res.body)).not.toMatch(/select|postgres:|terminat|FATAL/i);
      }
    } finally {
      await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);
    }
    const back = await healthUntil(app.url, 200, { limitMs: 20_000 }); // the backoff has grown meanwhile (at most 10 s)
    expect(back.status).toBe(200);
    expect(back.body).toEqual(HEALTHY);
    const listeners = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'nest-sessions-listener' AND datname = $1`, [dbName]);
    expect(listeners.rows[0].n).toBe(1);
  });
});

describe('health: the Redis subscriber', () => {
  let app: AppProcess;
  let admin: Redis;
  // A Redis database number of its own, so that only this app's subscriber is found and killed
  // (pub/sub ignores the number; CLIENT LIST shows it).
  const db = randomInt(1, 16);
  const redisUrl = new URL(process.env.REDIS_URL!);
  redisUrl.pathname = `/${db}`;

  beforeAll(async () => {
    admin = new Redis(process.env.REDIS_URL!);
    app = await startAppProcess({ REVOCATION_BUS: 'redis', REDIS_URL: redisUrl.toString() });
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
    admin?.disconnect();
  });

  /** Ids of this app's subscriber connections (`nest-sessions-revocations`, subscribed, our database number). */
  const subscribers = async () => {
    const list = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    return list
      .split('\n')
      .filter((line) => line.includes(' name=nest-sessions-revocations ') && line.includes(` db=${db} `))
      .map((line) => /(?:^|\s)id=(\d+)/.exec(line)![1]);
  };

  it('killed: 503 until the subscriber reconnects, then 200', async () => {
    const up = await healthUntil(app.url);
    expect(up.status).toBe(200);
    expect(up.body).toEqual(HEALTHY);
    const [id, ...others] = await subscribers();
    expect(id).toBeDefined();
    expect(others).toEqual([]);
    expect(await admin.call('CLIENT', 'KILL', 'ID', id)).toBe(1);
    await expectDownThenBack(app.url);
    // A new connection, subscribed again (ioredis re-subscribes as it becomes ready).
    let now: string[] = [];
    for (let i = 0; i < 100 && !(now.length === 1 && now[0] !== id); i++) {
      now = await subscribers();
      if (!(now.length === 1 && now[0] !== id)) await sleep(20);
    }
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(id);
  });
});
