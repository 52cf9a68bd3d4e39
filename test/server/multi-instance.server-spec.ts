import request from 'supertest';
import { Client } from 'pg';
import Redis from 'ioredis';
import { startAppProcess, type AppProcess } from '../support/processes';
import { ACCESS, CSRF, PASSWORD, REFRESH, setCookies, uniqueEmail } from '../support/browser';
import { within } from '../support/within';

/** The documented bounds (D6), asserted with D15's 3× margin; the measured delays are printed. */
const BROADCAST_BOUND_MS = 1_000;
const CACHE_TTL_MS = 2_000;


const cookiesOf = (res: request.Response) => Object.fromEntries(setCookies(res).map((x) => [x.name, x.value]));

describe.each([
  ['postgres', { REVOCATION_BUS: 'postgres' }],
  ['redis', { REVOCATION_BUS: 'redis' }],
])('three app processes on one PostgreSQL server, strict revocation with the cache, %s broadcast', (bus, env) => {
  let a: AppProcess;
  let b: AppProcess;
  let c: AppProcess;
  const refusedOn = (instance: AppProcess, accessToken: string) => async () =>
    (await request(instance.url).get('/whoami').set('Authorization', `Bearer ${accessToken}`)).status === 401;

  beforeAll(async () => {
    const settings = { ...env, REVOCATION_CACHE_TTL: String(CACHE_TTL_MS / 1000) };
    [a, b, c] = await Promise.all([startAppProcess(settings), startAppProcess(settings), startAppProcess(settings)]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([a, b, c].filter(Boolean).map((p) => p.stop()));
  });

  const bearerSession = async (on: AppProcess, email: string) => {
    const res = await request(on.url).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
    expect(res.status).toBe(200);
    return res.body as { accessToken: string; refreshToken: string };
  };

  it('log in through A, revoke through B: C accepts first, then refuses within the broadcast bound', async () => {
    const email = uniqueEmail('multi');
    expect((await request(a.url).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201);
    const login = await request(a.url).post('/auth/login').send({ email, password: PASSWORD });
    let jar = cookiesOf(login);
    const refreshed = await request(b.url).post('/auth/refresh').set('Cookie', `${REFRESH}=${jar[REFRESH]}`).set('x-csrf-token', jar[CSRF]);
    expect(refreshed.status).toBe(200);
    jar = { ...jar, ...cookiesOf(refreshed) };
    // C accepts (and now has the session in its cache), so the refusal below means something (D3).
    for (let i = 0; i < 3; i++) expect((await request(c.url).get('/me').set('Cookie', `${ACCESS}=${jar[ACCESS]}`)).status).toBe(200);

    const logout = await request(b.url).post('/auth/logout').set('Cookie', `${REFRESH}=${jar[REFRESH]}; ${ACCESS}=${jar[ACCESS]}`).set('x-csrf-token', jar[CSRF]);
    expect(logout.status).toBe(204);
    expect((await request(b.url).get('/whoami').set('Cookie', `${ACCESS}=${jar[ACCESS]}`)).status).toBe(401); // at once where it was revoked
    const delay = await within(3 * BROADCAST_BOUND_MS, refusedOn(c, jar[ACCESS]));
    console.log(`[${bus}] revocation on B refused on C after ${delay} ms (bound ${BROADCAST_BOUND_MS} ms)`);
    expect(delay).toBeLessThanOrEqual(3 * BROADCAST_BOUND_MS);
  });

  it('logout-all on A reaches sessions cached on B and C', async () => {
    const email = uniqueEmail('multi-all');
    await request(a.url).post('/auth/register').send({ email, password: PASSWORD });
    const onB = await bearerSession(b, email);
    const onC = await bearerSession(c, email);
    for (const instance of [b, c]) expect((await request(instance.url).get('/whoami').set('Authorization', `Bearer ${onC.accessToken}`)).status).toBe(200);
    expect((await request(a.url).post('/auth/logout-all').set('Authorization', `Bearer ${onB.accessToken}`)).status).toBe(204);
    for (const instance of [b, c]) {
      const delay = await within(3 * BROADCAST_BOUND_MS, refusedOn(instance, onC.accessToken));
      expect(delay).toBeLessThanOrEqual(3 * BROADCAST_BOUND_MS);
    }
    expect((await request(c.url).post('/auth/refresh').send({ refreshToken: onC.refreshToken })).status).toBe(401);
  });

  it('lost messages: with the listener\'s connection killed, a revocation is still refused within the cache TTL, and the listener comes back', async () => {
    const email = uniqueEmail('lost');
    await request(a.url).post('/auth/register').send({ email, password: PASSWORD });
    const session = await bearerSession(a, email);
    expect((await request(c.url).get('/whoami').set('Authorization', `Bearer ${session.accessToken}`)).status).toBe(200);

    const kill = bus === 'postgres' ? killPostgresListeners : killRedisSubscribers;
    expect(await kill()).toBeGreaterThanOrEqual(3);
    expect((await request(b.url).post('/auth/logout').send({ refreshToken: session.refreshToken })).status).toBe(204);
    const delay = await within(3 * CACHE_TTL_MS, refusedOn(c, session.accessToken));
    console.log(`[${bus}] with the listeners killed, C refused the revoked session after ${delay} ms (TTL ${CACHE_TTL_MS} ms)`);

    // The listeners reconnect, and broadcasts work again.
    await within(20_000, async () => (await countListeners()) >= 3);
    const again = await bearerSession(a, email);
    expect((await request(c.url).get('/whoami').set('Authorization', `Bearer ${again.accessToken}`)).status).toBe(200);
    expect((await request(b.url).post('/auth/logout').send({ refreshToken: again.refreshToken })).status).toBe(204);
    const after = await within(3 * BROADCAST_BOUND_MS, refusedOn(c, again.accessToken));
    console.log(`[${bus}] after reconnection, revocation reached C in ${after} ms`);
  });

  async function countListeners(): Promise<number> {
    if (bus === 'postgres') {
      return pgAdmin(async (client) =>
        Number((await client.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'nest-sessions-listener'`)).rows[0].n),
      );
    }
    return redisAdmin(async (redis) => {
      const list = (await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
      return list.split('\n').filter((l) => l.includes('name=nest-sessions-revocations')).length;
    });
  }
});

async function pgAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function redisAdmin<T>(work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(process.env.REDIS_URL!);
  try {
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

function killPostgresListeners(): Promise<number> {
  return pgAdmin(async (client) => {
    const res = await client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'nest-sessions-listener'`);
    return res.rowCount ?? 0;
  });
}

function killRedisSubscribers(): Promise<number> {
  return redisAdmin(async (redis) => Number(await redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub')));
}
