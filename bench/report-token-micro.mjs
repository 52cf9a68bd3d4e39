// The "One signer, one verifier" part of BENCHMARKS.md §6: a record of one comparison run of
// bench/token-micro.mjs, the hand-written JWS code (f089322) against the libraries that replaced
// it. Written down rather than re-measured by `npm run bench`: the old code is gone from the tree
// (`node bench/token-micro.mjs --compare f089322` measures it again).

/** @returns {string[]} markdown lines */
export function tokenMicroSection() {
  return [
    '### One signer, one verifier: before and after (`bench/token-micro.mjs`)',
    '',
    'Access tokens are signed in one function, `AccessTokenService.sign` (jsonwebtoken through `@nestjs/jwt` for HS256, ES256 ' +
      'and RS256, with a `KeyObject`; jose for EdDSA, which jsonwebtoken lacks), and verified in one, ' +
      '`SessionJwtStrategy.verifyToken` (the passport-jwt strategy the guard runs on a cache miss, which CSRF, logout, sockets ' +
      'and `validateAccessToken` now go through too; jose for EdDSA). Before, HS256 tokens were signed, and EdDSA tokens signed ' +
      'and verified, by hand-written JWS code over node:crypto. CPU µs per call through the library\'s own services, both versions ' +
      'in one process, interleaved round by round (`node bench/token-micro.mjs --compare f089322`, 7 rounds of 2,000 calls, ' +
      'median (min–max), on this shared two-core host where only ratios mean anything). "× raw" is the median over the bare ' +
      'node:crypto signature (sign) or verification (verify, guard miss) of the same bytes.',
    '',
    '| key | operation | before: µs | before: × raw | after: µs | after: × raw | after / before |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    `| HS256 | sign | 9.71 (8.78–11.4) | 3.77× | 24.0 (20.2–38.9) | 9.33× | 2.47× |`,
    `| HS256 | verify | 32.2 (27.4–41.1) | 10.05× | 27.4 (24.9–35.2) | 8.54× | 0.85× |`,
    `| HS256 | guard miss | 32.5 (24.0–41.9) | 10.15× | 28.2 (27.3–38.3) | 8.81× | 0.87× |`,
    `| ES256 | sign | 84.5 (77.3–87.0) | 1.92× | 76.8 (74.7–136) | 1.75× | 0.91× |`,
    `| ES256 | verify | 131 (120–191) | 1.53× | 128 (116–174) | 1.49× | 0.97× |`,
    `| ES256 | guard miss | 122 (113–204) | 1.43× | 131 (120–152) | 1.53× | 1.07× |`,
    `| RS256 | sign | 878 (770–1007) | 1.07× | 839 (814–974) | 1.03× | 0.96× |`,
    `| RS256 | verify | 65.1 (60.1–84.2) | 2.09× | 71.4 (59.7–112) | 2.29× | 1.10× |`,
    `| RS256 | guard miss | 73.0 (52.8–78.2) | 2.34× | 79.2 (67.1–119) | 2.54× | 1.08× |`,
    `| EdDSA | sign | 59.5 (53.8–98.8) | 1.24× | 159 (137–249) | 3.30× | 2.67× |`,
    `| EdDSA | verify | 156 (147–190) | 1.18× | 245 (228–265) | 1.86× | 1.57× |`,
    `| EdDSA | guard miss | 156 (150–231) | 1.18× | 257 (223–321) | 1.95× | 1.65× |`,
    '',
    'What the libraries cost, and why they stay:',
    '',
    '- **HS256 signing, 2.5× (about 14 µs more per token)**: jsonwebtoken checks its options and the payload around the one HMAC. ' +
      'It is paid once per login and per refresh, beside the refresh\'s own CPU (about 350 µs at the store level, "Where the ' +
      'time goes") and its database round trips: about 4 % of a refresh\'s CPU, no database time.',
    '- **EdDSA, 2.7× to sign and 1.6× to verify (about 100 µs more each)**: jose signs and verifies through WebCrypto, where ' +
      'every call is an asynchronous job. Signing is paid per login and refresh; verification on a guard cache miss (once per ' +
      'token per instance), on each unsafe request that carries the access cookie (`CsrfGuard` learns its session from it), on ' +
      'logout and on socket handshakes. EdDSA is opt-in, and an app that cannot spend those 100 µs has ES256 (no change) or HS256.',
    '- **HS256, ES256 and RS256 verification: no change** (0.85–1.10×, inside this host\'s spread). It was jsonwebtoken before ' +
      'too; passing CSRF, logout, sockets and `validateAccessToken` through passport as well costs nothing measurable here.',
    '',
  ];
}
