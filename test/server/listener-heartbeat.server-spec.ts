import request from 'supertest';
import { startAppProcess, type AppProcess } from '../support/processes';
import { PASSWORD, uniqueEmail } from '../support/browser';
import { TcpRelay, postgresListener, redisSubscriber, type RelayedConnection } from '../support/tcp-relay';
import { within } from '../support/within';

/**
 * The listener's heartbeat (revocation.heartbeat): a revocation listener whose connection dies
 * silently — no FIN, no RST, no error, the socket just stops carrying bytes — must not let the
 * strict cache keep answering for a revoked session. B reaches its bus through a TCP relay that
 * freezes only the listener's connection (B's pool, and the publisher, keep working); A revokes.
 * B must refuse within two heartbeat periods (asserted with D15's 3× margin; the measured delays
 * are printed), report the listener down meanwhile, drop the frozen connection and reconnect
 * (through the same relay: the freeze applies to the connections open when it was made, so the
 * reconnection is forwarded normally), and then hear broadcasts again.
 */
const HEARTBEAT_S = 1; // the library's durations are whole seconds: 1 is the shortest period
const HEARTBEAT_BOUND_MS = 2 * HEARTBEAT_S * 1000; // the documented bound: two periods
const BROADCAST_BOUND_MS = 1_000; // D6


/** GET /health every 20 ms in the background, recording each status and when it came. */
function watchHealth(url: string) {
  const samples: Array<{ at: number; status: number }> = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const res = await request(url).get('/health');
      samples.push({ at: Date.now(), status: res.status });
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    samples,
    /** The first 503, and the first 200 after it. */
    downThenUp() {
      const down = samples.find((s) => s.status === 503);
      const up = down && samples.find((s) => s.at > down.at && s.status === 200);
      return { down, up };
    },
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

describe.each([
  ['postgres', postgresListener],
  ['redis', redisSubscriber],
] as const)('the %s revocation listener frozen silently (no FIN, no RST): the heartbeat bounds what the cache answers', (bus, isListener) => {
  let relay: TcpRelay;
  let a: AppProcess;
  let b: AppProcess;
  const databaseUrl = process.env.DATABASE_URL!;
  const redisUrl = process.env.REDIS_URL!;
  const log = () => b.output.join('');

  beforeAll(async () => {
    const target = new URL(bus === 'postgres' ? databaseUrl : redisUrl);
    relay = await TcpRelay.start({ host: target.hostname, port: Number(target.port) });
    const settings = { REVOCATION_BUS: bus, REVOCATION_HEARTBEAT: String(HEARTBEAT_S) };
    a = await startAppProcess(settings);
    b = await startAppProcess({
      ...settings,
      ...(bus === 'postgres' ? { DATABASE_URL: relay.url(databaseUrl) } : { REDIS_URL: relay.url(redisUrl) }),
    });
  }, 90_000);
  afterAll(async () => {
    await Promise.all([a, b].filter(Boolean).map((p) => p.stop()));
    relay?.thaw();
    await relay?.close();
  });

  const bearerSession = async (email: string) => {
    expect((await request(a.url).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201);
    const res = await request(a.url).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
    expect(res.status).toBe(200);
    return res.body as { accessToken: string; refreshToken: string };
  };
  const whoami = (on: AppProcess, token: string) => request(on.url).get('/whoami').set('Authorization', `Bearer ${token}`);
  const refusedOn = (on: AppProcess, token: string) => async () => {
    const res = await whoami(on, token);
    if (res.status === 200) return false;
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('SESSION_REVOKED');
    return true;
  };
  const listenerConnections = () => relay.connections().filter(isListener);

  it('revoked through A while B\'s listener connection is frozen: B refuses within two heartbeat periods, reports the listener down, reconnects', async () => {
    const session = await bearerSession(uniqueEmail(`hb-${bus}`));
    // B accepts, and now answers for the session from its cache, so the refusal below means something (D3).
    for (let i = 0; i < 3; i++) expect((await whoami(b, session.accessToken)).status).toBe(200);
    expect((await request(b.url).get('/health')).status).toBe(200);
    expect(listenerConnections()).toHaveLength(1);
    const warnings = (log().match(/missed its heartbeat/g) ?? []).length;

    const health = watchHealth(b.url);
    const frozenAt = Date.now();
    expect(relay.freeze(isListener)).toBe(1);
    const [frozen] = relay.connections().filter((c) => c.frozen);
    expect(isListener(frozen)).toBe(true); // only the listener: B's pool (or Redis publisher) still works

    const revokedAt = Date.now();
    expect((await request(a.url).post('/auth/logout').send({ refreshToken: session.refreshToken })).status).toBe(204);
    expect((await whoami(a, session.accessToken)).status).toBe(401); // at once where it was revoked
    const delay = await within(3 * HEARTBEAT_BOUND_MS, refusedOn(b, session.accessToken));
    console.log(
      `[${bus}] listener frozen: B refused the session revoked on A after ${delay} ms ` +
        `(${Date.now() - frozenAt} ms after the freeze; bound ${HEARTBEAT_BOUND_MS} ms = 2 × ${HEARTBEAT_S} s heartbeat)`,
    );
    expect(delay).toBeLessThanOrEqual(3 * HEARTBEAT_BOUND_MS);
    expect(revokedAt).toBeGreaterThanOrEqual(frozenAt);

    // /health: down while B's listener is deaf, then up once it has dropped the frozen connection
    // and reconnected through the relay (the relay is still "frozen" for that old connection).
    await within(20_000, async () => health.downThenUp().up !== undefined);
    await health.stop();
    const { down, up } = health.downThenUp();
    console.log(`[${bus}] B's /health: 503 from ${down!.at - frozenAt} ms after the freeze, 200 again from ${up!.at - frozenAt} ms`);
    expect(down!.at - frozenAt).toBeLessThanOrEqual(3 * HEARTBEAT_BOUND_MS);

    // B dropped the frozen connection itself (no error ever came on it) and made a new one.
    const now = listenerConnections();
    expect(now.some((c) => c.id === frozen.id && c.frozen)).toBe(true); // the relay never closed it
    const fresh = now.filter((c: RelayedConnection) => c.id > frozen.id);
    expect(fresh).toHaveLength(1);
    expect(fresh[0].frozen).toBe(false);
    // It had heard heartbeats on that connection: a warning, and not the PgBouncer error.
    expect((log().match(/missed its heartbeat/g) ?? []).length).toBe(warnings + 1);
    expect(log()).not.toMatch(/PgBouncer/);
  });

  it('after the reconnection, a revocation through A reaches B by broadcast again (the listener stays up)', async () => {
    const session = await bearerSession(uniqueEmail(`hb-${bus}-after`));
    for (let i = 0; i < 3; i++) expect((await whoami(b, session.accessToken)).status).toBe(200);
    expect((await request(b.url).get('/health')).status).toBe(200);
    const warnings = (log().match(/missed its heartbeat/g) ?? []).length;

    const health = watchHealth(b.url);
    expect((await request(a.url).post('/auth/logout').send({ refreshToken: session.refreshToken })).status).toBe(204);
    const delay = await within(3 * BROADCAST_BOUND_MS, refusedOn(b, session.accessToken));
    const samples = await health.stop();
    console.log(`[${bus}] after the reconnection, revocation on A refused on B after ${delay} ms (bound ${BROADCAST_BOUND_MS} ms)`);
    expect(delay).toBeLessThanOrEqual(3 * BROADCAST_BOUND_MS);
    // The listener was alive the whole time, so the refusal came by the broadcast, not by a lapse.
    expect(samples.length).toBeGreaterThan(0);
    expect(samples.filter((s) => s.status !== 200)).toEqual([]);
    expect((log().match(/missed its heartbeat/g) ?? []).length).toBe(warnings);

    // Thawed, the old connection's bytes reach a client that has gone: the relay closes it, and
    // B keeps exactly one listener connection.
    relay.thaw();
    await within(5_000, async () => listenerConnections().length === 1);
    expect((await request(b.url).get('/health')).status).toBe(200);
  });
});
