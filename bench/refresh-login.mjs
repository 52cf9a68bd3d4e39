// `npm run bench`, parts "refresh" and "login": the library's rotation beside the same rotation in
// raw SQL, the refresh over HTTP, one client's refresh for the breakdown, and logins.
import { createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BREAKDOWN_N, LOAD_CPUS, ROOT, ROUNDS, SECONDS, WARMUP, fmt, log, pct, pinSelf, pool, post, range, require, startServer, stopServer } from './harness.mjs';

/** Where bench/minimal-app.mjs checks the CSRF origin (its `csrf.appOrigin`). */
const MINIMAL_ORIGIN = 'https://bench.localhost';

/**
 * A cookie session on the minimal app, and a step that refreshes it on `path` (the library's
 * route or the hand-written reference) as a browser would: the refresh and CSRF cookies, the CSRF
 * header and the Origin; the new refresh cookie is kept for the next step.
 */
async function minimalClient(minimal, path) {
  const login = await fetch(`${minimal.url}/bench/login`, { method: 'POST' });
  const { csrfToken } = await login.json();
  const jar = new Map(login.headers.getSetCookie().map((c) => c.split(';')[0].split(/=(.*)/s).slice(0, 2)));
  const refreshName = [...jar.keys()].find((k) => k.endsWith('-rt'));
  const csrfName = [...jar.keys()].find((k) => k.endsWith('-csrf'));
  return async () => {
    const res = await fetch(`${minimal.url}${path}`, {
      method: 'POST',
      headers: { cookie: `${refreshName}=${jar.get(refreshName)}; ${csrfName}=${jar.get(csrfName)}`, 'x-csrf-token': csrfToken, origin: MINIMAL_ORIGIN },
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    const next = res.headers.getSetCookie().find((c) => c.startsWith(`${refreshName}=`));
    jar.set(refreshName, next.split(';')[0].slice(refreshName.length + 1));
  };
}

/** Measures refreshes; writes results.refresh. */
export async function benchRefresh({ results, strict, sessions, loadIds, DATABASE_URL, email, password, secrets }) {
  log('refresh: library rotation vs raw SQL (16 clients), over HTTP (16 clients), and one client one at a time for the breakdown');
  log('refresh: the minimal app (bench/minimal-app.mjs): its refresh route beside a hand-written reference route, 16 clients each');
  const minimal = await startServer('minimal', join(ROOT, 'bench/minimal-app.mjs'), { DATABASE_URL, JWT_SECRET: secrets.jwtSecret, SESSION_SECRET: secrets.sessionSecret, NODE_ENV: 'production' });
  const minimalLib = await Promise.all(Array.from({ length: 16 }, () => minimalClient(minimal, '/auth/refresh')));
  const minimalRaw = await Promise.all(Array.from({ length: 16 }, () => minimalClient(minimal, '/raw/refresh')));
  pinSelf(LOAD_CPUS);
  const { Client } = require('pg');
  const runs = { library: [], raw: [], http: [], breakdown: [], minimalLib: [], minimalRaw: [] };
  const runFor = async (seconds, workers, step) => {
    const latencies = [];
    const until = Date.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        while (Date.now() < until) {
          const t0 = performance.now();
          await step(w);
          latencies.push(performance.now() - t0);
        }
      }),
    );
    return { rate: latencies.length / seconds, p50: pct(latencies, 50), p99: pct(latencies, 99) };
  };
  const libTokens = await Promise.all(Array.from({ length: 16 }, (_, i) => sessions.issue({ id: `bench-refresh-${i}`, roles: [] }, { transport: 'bearer' }).then((g) => g.refreshToken)));
  const rawClients = await Promise.all(
    loadIds.map(async (id) => {
      const client = new Client({ connectionString: DATABASE_URL });
      await client.connect();
      return { client, id };
    }),
  );
  const rawRotate = async ({ client, id }) => {
    await client.query('BEGIN');
    const { rows } = await client.query('SELECT secret_hash, generation FROM auth_sessions WHERE id = $1 FOR UPDATE', [id]);
    const hash = createHmac('sha256', 'pepper').update(randomBytes(32)).digest();
    await client.query('UPDATE auth_sessions SET previous_hashes = (array_prepend(secret_hash, previous_hashes))[1:32], secret_hash = $2, generation = $3 + 1, rotated_at = now() WHERE id = $1', [id, hash, rows[0].generation]);
    await client.query('COMMIT');
  };
  const httpTokens = await pool(16, 4, async () => (await post(`${strict.url}/auth/login`, { email, password }, { 'x-session-transport': 'bearer' })).body.refreshToken);
  const httpRefresh = async (w) => {
    const res = await post(`${strict.url}/auth/refresh`, { refreshToken: httpTokens[w] });
    if (res.status !== 200) throw new Error(`refresh ${res.status}`);
    httpTokens[w] = res.body.refreshToken;
  };
  const libRefresh = async (w) => {
    libTokens[w] = (await sessions.refresh({ token: libTokens[w], via: 'body' })).refreshToken;
  };
  const sequential = async (n, step) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await step(0);
    return (performance.now() - t0) / n;
  };
  // warm-up, not counted: the pools' connections, the JIT, the server's routes
  await runFor(Math.max(1, WARMUP / 2), 16, libRefresh);
  await runFor(Math.max(1, WARMUP / 2), 16, (w) => rawRotate(rawClients[w]));
  await runFor(Math.max(1, WARMUP / 2), 16, httpRefresh);
  await runFor(Math.max(1, WARMUP / 2), 16, (w) => minimalLib[w]());
  await runFor(Math.max(1, WARMUP / 2), 16, (w) => minimalRaw[w]());
  for (let round = 1; round <= ROUNDS; round++) {
    const lib1 = await runFor(SECONDS, 16, libRefresh);
    const raw1 = await runFor(SECONDS, 16, (w) => rawRotate(rawClients[w]));
    const http1 = await runFor(SECONDS, 16, httpRefresh);
    const minLib1 = await runFor(SECONDS, 16, (w) => minimalLib[w]());
    const minRaw1 = await runFor(SECONDS, 16, (w) => minimalRaw[w]());
    runs.minimalLib.push(minLib1);
    runs.minimalRaw.push(minRaw1);
    const httpMs = await sequential(BREAKDOWN_N, httpRefresh);
    const storeMs = await sequential(BREAKDOWN_N, libRefresh);
    runs.library.push(lib1);
    runs.raw.push(raw1);
    runs.http.push(http1);
    runs.breakdown.push({ httpMs, storeMs });
    log(
      `refresh round ${round}/${ROUNDS}: library ${fmt(lib1.rate)}/s p99 ${fmt(lib1.p99, 1)} ms; raw ${fmt(raw1.rate)}/s p99 ${fmt(raw1.p99, 1)} ms; ` +
        `HTTP ${fmt(http1.rate)}/s p99 ${fmt(http1.p99, 1)} ms; one client: HTTP ${fmt(httpMs, 2)} ms, store ${fmt(storeMs, 2)} ms per refresh; ` +
        `minimal app: library ${fmt(minLib1.rate)}/s p99 ${fmt(minLib1.p99, 1)} ms, reference ${fmt(minRaw1.rate)}/s p99 ${fmt(minRaw1.p99, 1)} ms`,
    );
  }
  pinSelf(null);
  stopServer(minimal);
  for (const { client } of rawClients) await client.end();
  const stats = (xs) => ({ rate: range(xs.map((r) => r.rate)), p50: range(xs.map((r) => r.p50)), p99: range(xs.map((r) => r.p99)) });
  results.refresh = {
    library: stats(runs.library),
    raw: stats(runs.raw),
    ratio: range(runs.library.map((r, i) => r.rate / runs.raw[i].rate)),
    p99Ratio: range(runs.library.map((r, i) => r.p99 / runs.raw[i].p99)),
    http: stats(runs.http),
    httpToLibrary: range(runs.http.map((r, i) => r.rate / runs.library[i].rate)),
    // The minimal app: its refresh route against its hand-written reference, and against the store level.
    minimal: {
      library: stats(runs.minimalLib),
      reference: stats(runs.minimalRaw),
      toReference: range(runs.minimalLib.map((r, i) => r.rate / runs.minimalRaw[i].rate)),
      p99ToReference: range(runs.minimalLib.map((r, i) => r.p99 / runs.minimalRaw[i].p99)),
      toStore: range(runs.minimalLib.map((r, i) => r.rate / runs.library[i].rate)),
    },
    breakdown: {
      n: BREAKDOWN_N,
      httpMs: range(runs.breakdown.map((b) => b.httpMs)),
      storeMs: range(runs.breakdown.map((b) => b.storeMs)),
      diffMs: range(runs.breakdown.map((b) => b.httpMs - b.storeMs)),
      diffShare: range(runs.breakdown.map((b) => (b.httpMs - b.storeMs) / b.httpMs)),
    },
  };
}

/** Measures logins over HTTP with 16 clients; writes results.login. */
export async function benchLogin({ results, strict, email, password }) {
  log('login: POST /auth/login, 16 clients');
  pinSelf(LOAD_CPUS);
  const latencies = [];
  const until = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (Date.now() < until) {
        const t0 = performance.now();
        const res = await post(`${strict.url}/auth/login`, { email, password }, { 'x-session-transport': 'bearer' });
        if (res.status !== 200) throw new Error(`login ${res.status}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  pinSelf(null);
  results.login = { rate: latencies.length / SECONDS, p50: pct(latencies, 50), p99: pct(latencies, 99) };
}
