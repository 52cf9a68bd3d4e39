// Access-token sign and verify microbenchmark: CPU time per operation inside one process, per
// algorithm, through the library's own services, beside the raw node:crypto operation.
//
//   node bench/token-micro.mjs                    the working tree
//   node bench/token-micro.mjs --compare <rev>    the working tree and <rev>, interleaved
//
// Needs nothing built beforehand: it compiles libs/session/src with @swc/core (as
// bench/guard-micro.mjs does) into dist/bench-token-lib/, and with --compare also `git archive
// <rev> libs/session/src` into a second folder, so both versions run in the same process, round
// after round, under the same load: only their ratio to each other and to the raw operation means
// anything on a shared host.
//
// What it measures, for HS256, ES256, RS256 and EdDSA keys:
//   sign       AccessTokenService.sign (awaited when it returns a promise): what login and refresh pay.
//   verify     AccessTokenService.verify: CSRF, logout, sockets and validateAccessToken.
//   guard miss SessionJwtStrategy.verifyToken: what SessionGuard pays on a verified-token cache miss.
//   raw sign / raw verify   the bare node:crypto signature over the same bytes (HMAC for HS256).
// CPU time is process.cpuUsage (user + system) over BENCH_TOKEN_CALLS calls (default 2,000),
// BENCH_TOKEN_ROUNDS rounds (default 7); each figure is the median (min–max) in µs per call.
//
// Output: one markdown table (both versions side by side with --compare), then as the LAST line
// one JSON object.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileLibrary } from './guard-micro.mjs';
import { createHmac, generateKeyPairSync, randomBytes, randomUUID, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const CALLS = Number(process.env.BENCH_TOKEN_CALLS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_TOKEN_ROUNDS ?? 7);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const range = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const span = (r) => `${fmt(r.median)} (${fmt(r.min)}–${fmt(r.max)})`;


/** The sources of `rev`, extracted from the object store (no checkout, no worktree). */
function sourcesAt(rev) {
  const dir = mkdtempSync(join(tmpdir(), 'nest-sessions-token-micro-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const tar = execFileSync('git', ['archive', rev, 'libs/session/src'], { cwd: ROOT, maxBuffer: 1 << 28 });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  return join(dir, 'libs', 'session', 'src');
}

const keys = {
  HS256: randomBytes(32).toString('base64url'),
  ES256: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey,
  RS256: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
  EdDSA: generateKeyPairSync('ed25519').privateKey,
};

/** One version of the library, with a service and a strategy per algorithm. */
async function load(label, src, out) {
  compileLibrary(src, out);
  require('reflect-metadata');
  const { Test } = require('@nestjs/testing');
  const { RESOLVED_SESSION_OPTIONS, REQUEST_ACCESS_TOKEN } = require(join(out, 'session.constants.js'));
  const { resolveSessionOptions } = require(join(out, 'resolve-options.js'));
  const { AccessTokenService } = require(join(out, 'tokens', 'access-token.js'));
  const { SessionJwtStrategy } = require(join(out, 'guards', 'jwt.strategy.js'));
  // Before one verifier, the strategy read the token from a request object.
  const legacy = existsSync(join(src, 'tokens', 'hs256-jws.ts'));
  const perAlg = {};
  for (const [alg, key] of Object.entries(keys)) {
    const options = resolveSessionOptions(
      { signingKeys: [{ kid: 'k1', alg, key }], sessionSecret: randomBytes(32).toString('base64url'), loadUser: () => null, accessTokenTtl: '1h' },
      {},
      { NODE_ENV: 'test' },
    );
    const moduleRef = await Test.createTestingModule({
      providers: [{ provide: RESOLVED_SESSION_OPTIONS, useValue: options }, AccessTokenService, SessionJwtStrategy],
    }).compile();
    const tokens = moduleRef.get(AccessTokenService);
    const strategy = moduleRef.get(SessionJwtStrategy);
    const user = { id: 'user-1', roles: ['reader'] };
    const sid = randomUUID();
    const sign = async () => (await tokens.sign(user, sid, Date.now(), Date.now() + 86_400_000)).token;
    const token = await sign();
    const verify = async () => {
      if ((await tokens.verify(token, Date.now())).sid !== sid) throw new Error('verify returned another session');
    };
    const guardMiss = async () => {
      const claims = legacy ? await strategy.verifyToken({ [REQUEST_ACCESS_TOKEN]: token }) : await strategy.verifyToken(token, Date.now());
      if (claims.sid !== sid) throw new Error('the strategy returned another session');
    };
    await verify();
    await guardMiss();
    perAlg[alg] = { sign, verify, 'guard miss': guardMiss, token };
  }
  return { label, perAlg };
}

/** The bare signature over the library token's own bytes, for scale. */
function rawOps(alg, token) {
  const input = Buffer.from(token.slice(0, token.lastIndexOf('.')));
  const signature = Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
  const key = keys[alg];
  if (alg === 'HS256') {
    const secret = Buffer.from(key);
    return {
      'raw sign': () => createHmac('sha256', secret).update(input).digest('base64url'),
      'raw verify': () => createHmac('sha256', secret).update(input).digest().equals(signature),
    };
  }
  const pub = require('node:crypto').createPublicKey(key);
  const hash = alg === 'EdDSA' ? null : 'sha256';
  const opts = (k) => (alg === 'ES256' ? { key: k, dsaEncoding: 'ieee-p1363' } : k);
  return {
    'raw sign': () => cryptoSign(hash, input, opts(key)),
    'raw verify': () => {
      if (!cryptoVerify(hash, input, opts(pub), signature)) throw new Error('raw verify failed');
    },
  };
}

/** CPU µs per call of `fn` over CALLS calls (awaited when it returns a promise). */
async function cpuPerCall(fn) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) {
    const r = fn();
    if (r && typeof r.then === 'function') await r;
  }
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / CALLS;
}

const args = process.argv.slice(2);
const compareAt = args.indexOf('--compare');
const versions = [];
if (compareAt >= 0) {
  const rev = args[compareAt + 1];
  if (!rev) throw new Error('--compare needs a revision');
  versions.push(await load(rev, sourcesAt(rev), join(ROOT, 'dist', 'bench-token-lib-compare')));
}
versions.push(await load('working tree', join(ROOT, 'libs', 'session', 'src'), join(ROOT, 'dist', 'bench-token-lib')));

const ops = [];
for (const alg of Object.keys(keys)) {
  for (const v of versions) for (const name of ['sign', 'verify', 'guard miss']) ops.push({ key: `${v.label}|${alg}|${name}`, fn: v.perAlg[alg][name] });
  for (const [name, fn] of Object.entries(rawOps(alg, versions[0].perAlg[alg].token))) ops.push({ key: `raw|${alg}|${name}`, fn });
}
for (const op of ops) await cpuPerCall(op.fn); // warm-up
const samples = Object.fromEntries(ops.map((op) => [op.key, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const op of ops) samples[op.key].push(await cpuPerCall(op.fn));
  process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
}

const result = { callsPerSample: CALLS, rounds: ROUNDS, unit: 'CPU µs per call', versions: versions.map((v) => v.label), ops: {} };
for (const [key, xs] of Object.entries(samples)) result.ops[key] = range(xs);
const raw = (alg, name) => result.ops[`raw|${alg}|raw ${name === 'sign' ? 'sign' : 'verify'}`].median;
const times = (x) => `${x.toFixed(2)}×`;
const [first, last] = [versions[0].label, versions[versions.length - 1].label];
console.log(`\nCPU µs per call, median (min–max); "× raw": the median over the raw node:crypto sign (sign) or verify (verify, guard miss)\n`);
const columns = versions.flatMap((v) => [`${v.label}: µs`, `${v.label}: × raw`]);
if (versions.length > 1) columns.push(`${last} / ${first}`);
console.log(`| key | operation | ${columns.join(' | ')} |`);
console.log(`|${' --- |'.repeat(columns.length + 2)}`);
for (const alg of Object.keys(keys)) {
  for (const name of ['sign', 'verify', 'guard miss']) {
    const cells = versions.flatMap((v) => {
      const r = result.ops[`${v.label}|${alg}|${name}`];
      return [span(r), times(r.median / raw(alg, name))];
    });
    if (versions.length > 1) cells.push(times(result.ops[`${last}|${alg}|${name}`].median / result.ops[`${first}|${alg}|${name}`].median));
    console.log(`| ${alg} | ${name} | ${cells.join(' | ')} |`);
  }
}
console.log(JSON.stringify(result));
