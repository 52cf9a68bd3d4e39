// `npm run bench`, part "bound": sessions bound to a device key. A DPoP-bound GET (RFC 9449: a
// proof verified and its jti spent in the rate-limit store on every request) beside a plain bearer
// GET, driven by wrk; and a DBSC refresh (a proof of the browser's key, then the usual rotation)
// beside a plain cookie refresh, 16 clients each. One sample server (strict mode, its caches),
// interleaved round by round. Goals: DPoP ≥ 0.6× bearer, DBSC refresh ≥ 0.8× plain refresh.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOAD_CPUS, OUT, ROUNDS, ROUND_WARMUP, SECONDS, WARMUP, fmt, log, pct, pinSelf, pool, post, range, startServer, stopServer, wrk } from './harness.mjs';

const SESSIONS = 1000;
/** Each wrk request takes the next line (token, proof) and never wraps: a proof is good once. */
const SCRIPT = join(OUT, 'dpop.lua');
writeFileSync(
  SCRIPT,
  `local tokens, proofs = {}, {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
  local tab = line:find("\\t")
  tokens[#tokens + 1] = line:sub(1, tab - 1)
  proofs[#proofs + 1] = line:sub(tab + 1)
end
local path = os.getenv("BENCH_PATH")
local i = 0
request = function()
  i = i + 1
  if i > #tokens then i = #tokens end
  return wrk.format("GET", path, { ["Authorization"] = "DPoP " .. tokens[i], ["DPoP"] = proofs[i] })
end
`,
);

/**
 * A P-256 key pair as KeyObjects imported from PEM. Node 20 deadlocks when a key straight from
 * generateKeyPairSync is exported as a JWK while the garbage collector frees its generation job (the
 * job's destructor waits for the lock the export holds: seen hanging this part for good, reproduced
 * in 20,000 calls; Node 22 and 24 do not). Keys imported from PEM share nothing with the job.
 */
function ecKeyPair() {
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return { privateKey: createPrivateKey(pem.privateKey), publicKey: createPublicKey(pem.publicKey) };
}

/** A client key, what its proofs repeat (the protected header, once) and its RFC 7638 thumbprint. */
function clientKey() {
  const { privateKey, publicKey } = ecKeyPair();
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const header = Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })).toString('base64url');
  const jkt = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
  return { privateKey, header, jkt };
}

/** A compact ES256 JWS of `claims` under a base64url protected header. */
function es256(header, claims, privateKey) {
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/** One DPoP proof (the client's side of RFC 9449 §4.2), signed with node:crypto. */
function proof(key, method, htu, ath) {
  return es256(key.header, { jti: randomUUID(), htm: method, htu, iat: Math.floor(Date.now() / 1000), ...(ath ? { ath } : {}) }, key.privateKey);
}

/**
 * fetch, once more when a kept-alive socket turned out closed: between runs the clients' sockets
 * idle past the server's keep-alive timeout, and undici may pick one the server has just closed
 * ("other side closed"). The server never read that request, so sending it again is safe.
 */
async function send(url, init) {
  try {
    return await fetch(url, init);
  } catch (error) {
    if (error?.cause?.code !== 'UND_ERR_SOCKET') throw error;
    return fetch(url, init);
  }
}

const cookiesOf = (res) => new Map(res.headers.getSetCookie().map((c) => c.split(';')[0].split(/=(.*)/s).slice(0, 2)));
const challengeOf = (res) => /^"([^"]+)"/.exec(res.headers.get('secure-session-challenge') ?? '')?.[1];

/**
 * A browser's cookie session; `bind` also registers a DBSC key (as Chromium does after the login).
 * Returns one refresh step: the DBSC refresh with a proof answering the last challenge, or the
 * plain refresh with the CSRF header; each keeps the new refresh cookie (and challenge).
 */
async function cookieClient(server, email, password, bind) {
  const login = await fetch(`${server.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  const { csrfToken } = await login.json();
  const jar = cookiesOf(login);
  const names = { refresh: [...jar.keys()].find((k) => k.endsWith('-rt')), csrf: [...jar.keys()].find((k) => k.endsWith('-csrf')), access: [...jar.keys()].find((k) => k.endsWith('-at')) };
  const cookie = () => `${names.refresh}=${jar.get(names.refresh)}; ${names.csrf}=${jar.get(names.csrf)}; ${names.access}=${jar.get(names.access)}`;
  const keep = (res) => {
    for (const [k, v] of cookiesOf(res)) jar.set(k, v);
  };
  if (!bind) {
    return async () => {
      const res = await send(`${server.url}/auth/refresh`, { method: 'POST', headers: { cookie: cookie(), 'x-csrf-token': csrfToken } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`plain refresh ${res.status}`);
      keep(res);
    };
  }
  const registration = login.headers.get('secure-session-registration');
  const path = /;path="([^"]+)"/.exec(registration)?.[1];
  const challenge = /;challenge="([^"]+)"/.exec(registration)?.[1];
  const { privateKey, publicKey } = ecKeyPair();
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const registered = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { cookie: cookie(), 'secure-session-response': es256(b64({ alg: 'ES256', typ: 'dbsc+jwt', jwk: { kty, crv, x, y } }), { jti: challenge }, privateKey) },
  });
  await registered.arrayBuffer();
  if (registered.status !== 200) throw new Error(`DBSC registration ${registered.status}`);
  keep(registered);
  let next = challengeOf(registered);
  const header = b64({ alg: 'ES256', typ: 'dbsc+jwt' });
  return async () => {
    const res = await send(`${server.url}/auth/dbsc/refresh`, { method: 'POST', headers: { cookie: cookie(), 'secure-session-response': es256(header, { jti: next }, privateKey) } });
    const body = await res.json();
    if (res.status !== 200 || body.continue === false) throw new Error(`DBSC refresh ${res.status} ${JSON.stringify(body)}`);
    keep(res);
    next = challengeOf(res);
  };
}

/** `workers` clients stepping as fast as they can for `seconds`: rate and p99. */
async function runFor(seconds, steps) {
  const latencies = [];
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    steps.map(async (step) => {
      while (Date.now() < until) {
        const t0 = performance.now();
        await step();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { rate: latencies.length / seconds, p99: pct(latencies, 99) };
}

export async function benchBoundSessions({ results, sampleMain, sampleEnv, email, password, sessions }) {
  log('bound sessions: a sample server with SESSION_DPOP=allowed and SESSION_DBSC=on; 1,000 DPoP-bound sessions and 1,000 plain bearer ones; 16 DBSC-bound cookie sessions and 16 plain ones');
  const server = await startServer('bound', sampleMain, { ...sampleEnv, SESSION_DPOP: 'allowed', SESSION_DBSC: 'on' });
  try {
    // One login over HTTP proves the binding end to end; the other sessions are issued in-process
    // (a login's password hash would take most of the part's time), bound to their keys alike.
    const keys = Array.from({ length: SESSIONS }, clientKey);
    const first = await post(`${server.url}/auth/login`, { email, password }, { 'x-session-transport': 'bearer', dpop: proof(keys[0], 'POST', `${server.url}/auth/login`) });
    if (first.status !== 200 || first.body.tokenType !== 'DPoP') throw new Error(`DPoP login ${first.status} ${JSON.stringify(first.body)}`);
    const bound = await pool(SESSIONS, 16, async (i) => {
      const token = i === 0 ? first.body.accessToken : (await sessions.issue({ id: `bench-dpop-${i % 100}`, roles: [] }, { transport: 'bearer', jkt: keys[i].jkt })).accessToken;
      return { key: keys[i], token, ath: createHash('sha256').update(token).digest('base64url') };
    });
    const plain = await pool(SESSIONS, 16, async (i) => (await sessions.issue({ id: `bench-dpop-${i % 100}`, roles: [] }, { transport: 'bearer' })).accessToken);
    const plainFile = join(OUT, 'tokens-dpop-plain.txt');
    writeFileSync(plainFile, plain.join('\n') + '\n');
    const htu = `${server.url}/whoami`;
    /** Fresh proofs for `count` requests, each session in turn; made just before the run (`iat` is good for 60 s). */
    const proofsFile = (count) => {
      const file = join(OUT, 'tokens-dpop.txt');
      const lines = new Array(count);
      for (let i = 0; i < count; i++) {
        const s = bound[i % SESSIONS];
        lines[i] = `${s.token}\t${proof(s.key, 'GET', htu, s.ath)}`;
      }
      writeFileSync(file, lines.join('\n') + '\n');
      return file;
    };
    const bearerTarget = { name: 'bearer GET', server, path: '/whoami', tokens: plainFile, header: 'Authorization', prefix: 'Bearer ' };
    // Enough proofs for the fastest rate seen so far, with room: a proof used twice would be a 401.
    let fastest = 3000;
    const dpopRun = (seconds) => {
      const count = Math.ceil(fastest * 1.6 * seconds) + 1000;
      const started = Date.now();
      const tokens = proofsFile(count);
      const made = Date.now() - started;
      const run = wrk({ name: 'DPoP GET', server, path: '/whoami', tokens, script: SCRIPT }, seconds);
      fastest = Math.max(fastest, run.rps);
      return { ...run, proofsMade: count, proofsMs: made };
    };
    const dbscSteps = await Promise.all(Array.from({ length: 16 }, () => cookieClient(server, email, password, true)));
    const plainSteps = await Promise.all(Array.from({ length: 16 }, () => cookieClient(server, email, password, false)));
    log(`bound sessions warm-up: ${WARMUP} s each (not counted)`);
    wrk(bearerTarget, Math.max(1, WARMUP));
    dpopRun(Math.max(1, WARMUP));
    await runFor(Math.max(1, WARMUP / 2), dbscSteps);
    await runFor(Math.max(1, WARMUP / 2), plainSteps);
    const runs = { bearer: [], dpop: [], bearerP99: [], dpopP99: [], plainRefresh: [], dbscRefresh: [] };
    pinSelf(LOAD_CPUS);
    for (let round = 1; round <= ROUNDS; round++) {
      if (ROUND_WARMUP > 0) wrk(bearerTarget, ROUND_WARMUP);
      const b = wrk(bearerTarget, SECONDS);
      if (ROUND_WARMUP > 0) dpopRun(ROUND_WARMUP);
      const d = dpopRun(SECONDS);
      runs.bearer.push(b.rps);
      runs.dpop.push(d.rps);
      runs.bearerP99.push(b.p99);
      runs.dpopP99.push(d.p99);
      const plain = await runFor(SECONDS, plainSteps);
      const dbsc = await runFor(SECONDS, dbscSteps);
      runs.plainRefresh.push(plain);
      runs.dbscRefresh.push(dbsc);
      log(
        `bound sessions round ${round}/${ROUNDS}: bearer ${fmt(b.rps)} req/s (p99 ${fmt(b.p99, 1)} ms), DPoP ${fmt(d.rps)} req/s (p99 ${fmt(d.p99, 1)} ms; ` +
          `${fmt(d.proofsMade)} proofs made in ${fmt(d.proofsMs)} ms beforehand); cookie refresh ${fmt(plain.rate)}/s (p99 ${fmt(plain.p99, 1)} ms), DBSC refresh ${fmt(dbsc.rate)}/s (p99 ${fmt(dbsc.p99, 1)} ms)`,
      );
    }
    pinSelf(null);
    results.dpop = {
      bearer: { rate: range(runs.bearer), p99: range(runs.bearerP99) },
      dpop: { rate: range(runs.dpop), p99: range(runs.dpopP99) },
      ratio: range(runs.dpop.map((x, i) => x / runs.bearer[i])),
    };
    const stats = (xs) => ({ rate: range(xs.map((r) => r.rate)), p99: range(xs.map((r) => r.p99)) });
    results.dbsc = {
      plain: stats(runs.plainRefresh),
      dbsc: stats(runs.dbscRefresh),
      ratio: range(runs.dbscRefresh.map((r, i) => r.rate / runs.plainRefresh[i].rate)),
    };
  } finally {
    stopServer(server);
  }
}
