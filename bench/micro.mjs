// `npm run bench`, part "micro": signing and verifying one token, the library beside raw
// node:crypto, and the guard's paths in CPU time (bench/guard-micro.mjs).
import { createHmac, generateKeyPairSync, randomBytes, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { join } from 'node:path';
import { ROOT, ROUNDS, log, range, require, runJsonChild, splitArgs } from './harness.mjs';

/** Measures the micro figures; writes results.micro and results.guardMicro. */
export async function benchMicro({ results, ctx, DATABASE_URL }) {
  log('micro: HS256 and ES256 sign/verify');
  const { AccessTokenService } = require(join(ROOT, 'dist/apps/sample/libs/session/src/tokens/access-token.js'));
  const accessTokens = ctx.get(AccessTokenService);
  const hsKey = randomBytes(32);
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const claims = { iss: 'nest-sessions', aud: 'nest-sessions', sub: 'u', sid: '3b241101-e2bb-4255-8caf-4136c566a962', jti: 'j', iat: 1, exp: 2, roles: [] };
  const hsInput = `${b64({ alg: 'HS256', typ: 'at+jwt' })}.${b64(claims)}`;
  const hsToken = `${hsInput}.${createHmac('sha256', hsKey).update(hsInput).digest('base64url')}`;
  const esInput = `${b64({ alg: 'ES256', typ: 'at+jwt' })}.${b64(claims)}`;
  const esSig = cryptoSign('sha256', Buffer.from(esInput), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
  const libToken = (await accessTokens.sign({ id: 'u', roles: [] }, claims.sid, Date.now(), Date.now() + 3_600_000)).token;
  // The library's sign and verify return promises (jose, which signs and verifies EdDSA, is async).
  const perSecond = async (fn) => {
    const until = performance.now() + 1000;
    let n = 0;
    while (performance.now() < until) {
      for (let i = 0; i < 100; i++) {
        const r = fn();
        if (r && typeof r.then === 'function') await r;
      }
      n += 100;
    }
    return n;
  };
  const microOps = {
    'HS256 sign, library (AccessTokenService.sign)': () => accessTokens.sign({ id: 'u', roles: [] }, claims.sid, Date.now(), Date.now() + 3_600_000),
    'HS256 sign, raw node:crypto': () => `${hsInput}.${createHmac('sha256', hsKey).update(hsInput).digest('base64url')}`,
    'HS256 verify, library (AccessTokenService.verify)': () => accessTokens.verify(libToken, Date.now()),
    'HS256 verify, raw node:crypto (HMAC + JSON parse)': () => {
      const [h, p, s] = hsToken.split('.');
      createHmac('sha256', hsKey).update(`${h}.${p}`).digest('base64url') === s && JSON.parse(Buffer.from(p, 'base64url').toString());
    },
    'ES256 sign, raw node:crypto': () => cryptoSign('sha256', Buffer.from(esInput), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }),
    'ES256 verify, raw node:crypto': () => cryptoVerify('sha256', Buffer.from(esInput), { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, esSig),
  };
  const micro = Object.fromEntries(Object.keys(microOps).map((k) => [k, []]));
  for (let round = 0; round < ROUNDS; round++) for (const [name, fn] of Object.entries(microOps)) micro[name].push(await perSecond(fn));
  results.micro = Object.fromEntries(Object.entries(micro).map(([k, v]) => [k, range(v)]));

  log('micro: the guard per path in CPU time, as HS256 verifications (bench/guard-micro.mjs)');
  results.guardMicro = await runJsonChild(join(ROOT, 'bench/guard-micro.mjs'), splitArgs(process.env.BENCH_GUARD_MICRO_ARGS), { DATABASE_URL });
  log(results.guardMicro.measured ? `guard micro: ${JSON.stringify(results.guardMicro.data)}` : `guard micro ${results.guardMicro.error}`);
}
