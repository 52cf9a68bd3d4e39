// `npm run bench`, part "dpop": a DPoP-bound GET (RFC 9449: a proof verified and its jti spent in
// the rate-limit store on every request) beside a plain bearer GET, on one sample server in strict
// mode with its caches, interleaved round by round. Goal: DPoP ≥ 0.6× bearer.
import { createHash, createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOAD_CPUS, OUT, ROUNDS, ROUND_WARMUP, SECONDS, WARMUP, fmt, log, pinSelf, pool, post, range, startServer, stopServer, wrk } from './harness.mjs';

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

/** A client key and what its proofs repeat: the protected header, once. */
function clientKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const header = Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })).toString('base64url');
  return { privateKey: createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' })), header };
}

/** One DPoP proof (the client's side of RFC 9449 §4.2), signed with node:crypto. */
function proof(key, method, htu, ath) {
  const payload = Buffer.from(JSON.stringify({ jti: randomUUID(), htm: method, htu, iat: Math.floor(Date.now() / 1000), ...(ath ? { ath } : {}) })).toString('base64url');
  const input = `${key.header}.${payload}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

export async function benchDpop({ results, sampleMain, sampleEnv, email, password }) {
  log('DPoP: a sample server with SESSION_DPOP=allowed; 1,000 bound sessions and 1,000 plain bearer ones');
  const server = await startServer('dpop', sampleMain, { ...sampleEnv, SESSION_DPOP: 'allowed' });
  try {
    const keys = Array.from({ length: SESSIONS }, clientKey);
    const bound = await pool(SESSIONS, 4, async (i) => {
      const res = await post(`${server.url}/auth/login`, { email, password }, { 'x-session-transport': 'bearer', dpop: proof(keys[i], 'POST', `${server.url}/auth/login`) });
      if (res.status !== 200 || res.body.tokenType !== 'DPoP') throw new Error(`DPoP login ${res.status} ${JSON.stringify(res.body)}`);
      const token = res.body.accessToken;
      return { key: keys[i], token, ath: createHash('sha256').update(token).digest('base64url') };
    });
    const plain = await pool(SESSIONS, 4, async () => {
      const res = await post(`${server.url}/auth/login`, { email, password }, { 'x-session-transport': 'bearer' });
      if (res.status !== 200) throw new Error(`login ${res.status}`);
      return res.body.accessToken;
    });
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
    log(`DPoP warm-up: ${WARMUP} s each (not counted)`);
    wrk(bearerTarget, Math.max(1, WARMUP));
    dpopRun(Math.max(1, WARMUP));
    const runs = { bearer: [], dpop: [], bearerP99: [], dpopP99: [] };
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
      log(`DPoP round ${round}/${ROUNDS}: bearer ${fmt(b.rps)} req/s (p99 ${fmt(b.p99, 1)} ms), DPoP ${fmt(d.rps)} req/s (p99 ${fmt(d.p99, 1)} ms; ${fmt(d.proofsMade)} proofs made in ${fmt(d.proofsMs)} ms beforehand)`);
    }
    pinSelf(null);
    results.dpop = {
      bearer: { rate: range(runs.bearer), p99: range(runs.bearerP99) },
      dpop: { rate: range(runs.dpop), p99: range(runs.dpopP99) },
      ratio: range(runs.dpop.map((x, i) => x / runs.bearer[i])),
    };
  } finally {
    stopServer(server);
  }
}
