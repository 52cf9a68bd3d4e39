// `npm run bench`, part "guard": a guarded GET on nest-sessions (stateless, strict with and
// without its cache) beside an unguarded route of the same app and the peers users would pick
// instead, all driven by wrk, interleaved round by round.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BA_SESSIONS, LOAD_CPUS, OUT, ROOT, ROUNDS, ROUND_WARMUP, SECONDS, WARMUP, fmt, log, pinSelf, pool, post, range, startServer, stopServer, wrk } from './harness.mjs';

const BETTER_AUTH_SRC = join(ROOT, 'bench/peers/better-auth.ts');
const BETTER_AUTH_JS = join(ROOT, 'dist/bench/peers/better-auth.js');
/** The better-auth peer's route that makes a session and answers { cookie } (see its header comment). */
const BETTER_AUTH_LOGIN = '/bench/session';
/** Seconds a cookie-cached better-auth session stays valid after revocation: its cookieCache maxAge, as the peer's ready line prints it. */
const DEFAULT_BETTER_AUTH_CACHE_MAX_AGE = 300;

/**
 * Compiles bench/peers. Errors confined to the better-auth peer (e.g. its package not installed
 * yet) only take its rows out, with the reason; any other error stops the bench.
 * @returns {string | null} why better-auth is not measured, or null
 */
export function buildPeers() {
  rmSync(BETTER_AUTH_JS, { force: true });
  const res = spawnSync('npx', ['tsc', '-p', 'bench/tsconfig.json'], { cwd: ROOT, encoding: 'utf8' });
  const text = `${res.stdout}${res.stderr}`;
  const errorFiles = [...text.matchAll(/^(\S+?)\(\d+,\d+\): error/gm)].map((m) => m[1]);
  if (res.status !== 0 && (errorFiles.length === 0 || errorFiles.some((f) => !f.includes('better-auth')))) throw new Error(`bench/peers do not compile:\n${text}`);
  if (!existsSync(BETTER_AUTH_SRC)) return 'not measured: bench/peers/better-auth.ts does not exist';
  if (res.status !== 0) return `not measured: bench/peers/better-auth.ts does not compile: ${text.split('\n').find((l) => l.includes('error')) ?? text.slice(0, 200)}`;
  if (!existsSync(BETTER_AUTH_JS)) return 'not measured: dist/bench/peers/better-auth.js was not emitted';
  return null;
}

/** Every `Set-Cookie` of a response as one `Cookie` header value. */
const cookieHeader = (res) => res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');

/** Measures the guarded GET; writes results.guard (and results.guardedRows, for the chart). */
export async function benchGuardedGet({ results, strict, sampleMain, sampleEnv, DATABASE_URL, email, password, betterAuthNote }) {
  log('guarded GET: starting servers: nest-sessions (strict without cache, stateless), the NestJS recipe, express-session, better-auth');
  const baStart = (name, env) =>
    betterAuthNote ? Promise.resolve({ error: betterAuthNote }) : startServer(name, BETTER_AUTH_JS, { DATABASE_URL, ...env }).catch((e) => ({ error: `not measured: ${String(e.message).split('\n').slice(0, 3).join(' / ')}` }));
  const [noCache, stateless, recipe, expressSession, betterAuth] = await Promise.all([
    startServer('strict-nocache', sampleMain, { ...sampleEnv, REVOCATION_CACHE_MAX: '0' }),
    startServer('stateless', sampleMain, { ...sampleEnv, SESSION_REVOCATION: 'stateless' }),
    startServer('recipe', join(ROOT, 'dist/bench/peers/recipe.js'), {}),
    startServer('express-session', join(ROOT, 'dist/bench/peers/express-session.js'), { DATABASE_URL }),
    baStart('better-auth', { BETTER_AUTH_COOKIE_CACHE: 'false' }),
  ]);
  // The second better-auth instance after the first, which may have created its tables.
  const betterAuthCache = await baStart('better-auth-cookie-cache', { BETTER_AUTH_COOKIE_CACHE: 'true' });

  log('making 1,000 sessions on each server');
  const nsTokens = await pool(1000, 4, async () => {
    const res = await post(`${strict.url}/auth/login`, { email, password }, { 'x-session-transport': 'bearer' });
    if (res.status !== 200) throw new Error(`login ${res.status}`);
    return res.body.accessToken;
  });
  const recipeTokens = await pool(1000, 8, async () => (await post(`${recipe.url}/login`)).body.accessToken);
  const esCookies = await pool(1000, 8, async () => {
    const res = await post(`${expressSession.url}/login`);
    return /connect\.sid=[^;]+/.exec(res.headers.get('set-cookie'))[0];
  });
  const files = { ns: join(OUT, 'tokens-ns.txt'), recipe: join(OUT, 'tokens-recipe.txt'), es: join(OUT, 'cookies-es.txt') };
  writeFileSync(files.ns, nsTokens.join('\n') + '\n');
  writeFileSync(files.recipe, recipeTokens.join('\n') + '\n');
  writeFileSync(files.es, esCookies.join('\n') + '\n');
  const baCookies = async (server, file) => {
    if (server.error) return server.error;
    try {
      log(`making ${fmt(BA_SESSIONS)} sessions on ${server.name}`);
      const cookies = await pool(BA_SESSIONS, 8, async () => {
        const res = await fetch(`${server.url}${BETTER_AUTH_LOGIN}`, { method: 'POST' });
        const text = await res.text();
        let cookie = cookieHeader(res);
        try {
          cookie = JSON.parse(text).cookie ?? cookie;
        } catch {
          // not JSON: the Set-Cookie headers it is
        }
        if (res.status >= 400 || !cookie) throw new Error(`POST ${BETTER_AUTH_LOGIN}: ${res.status}, cookie ${JSON.stringify(cookie)}`);
        return cookie;
      });
      writeFileSync(file, cookies.join('\n') + '\n');
      return null;
    } catch (e) {
      return `not measured: making sessions failed: ${e.message}`;
    }
  };
  const baFile = join(OUT, 'cookies-better-auth.txt');
  const baCacheFile = join(OUT, 'cookies-better-auth-cache.txt');
  const baErrors = [await baCookies(betterAuth, baFile), await baCookies(betterAuthCache, baCacheFile)];

  const maxAgeSeen = /maxAge=(\d+)s/.exec(betterAuthCache.output ?? '')?.[1];
  const BETTER_AUTH_CACHE_MAX_AGE = maxAgeSeen ? Number(maxAgeSeen) : DEFAULT_BETTER_AUTH_CACHE_MAX_AGE;
  const bearer = (tokens) => ({ tokens, header: 'Authorization', prefix: 'Bearer ' });
  const targets = [
    { key: 'unguarded', name: 'unguarded route (the strict server)', server: strict, path: '/bench/unguarded', ...bearer(files.ns) },
    // One more guard that only leaves req.user: Nest's pipeline and Express's cost of a new request property, no session work.
    { key: 'userGuard', name: 'a guard that only sets req.user (the strict server)', server: strict, path: '/bench/user-guard', ...bearer(files.ns) },
    // Each mode is taken against the unguarded route of its own process: two processes on one core differ by more than the guard.
    { key: 'unguardedStateless', name: 'unguarded route (the stateless server)', server: stateless, path: '/bench/unguarded', ...bearer(files.ns) },
    { key: 'recipe', name: 'NestJS docs recipe (passport-jwt, string secret)', server: recipe, path: '/whoami', ...bearer(files.recipe) },
    { key: 'stateless', name: 'nest-sessions stateless', server: stateless, path: '/whoami', reference: 'unguardedStateless', ...bearer(files.ns) },
    { key: 'strict', name: 'nest-sessions strict + cache', server: strict, path: '/whoami', ...bearer(files.ns) },
    { key: 'nocache', name: 'nest-sessions strict, no cache', server: noCache, path: '/whoami', ...bearer(files.ns) },
    { key: 'express', name: 'express-session + connect-pg-simple', server: expressSession, path: '/whoami', tokens: files.es, header: 'Cookie' },
    { key: 'betterAuth', peer: 'better-auth', name: 'better-auth (session read from Postgres)', server: betterAuth, path: '/whoami', tokens: baFile, header: 'Cookie', error: baErrors[0] },
    {
      key: 'betterAuthCache', peer: 'better-auth', name: `better-auth, cookie cache (revocation seen after up to ${BETTER_AUTH_CACHE_MAX_AGE} s)`,
      server: betterAuthCache, path: '/whoami', tokens: baCacheFile, header: 'Cookie', error: baErrors[1],
    },
  ];
  const live = targets.filter((t) => !t.error);
  const guarded = Object.fromEntries(live.map((t) => [t.key, []]));
  log(`warm-up: ${WARMUP} s per server (not counted), which also checks that every route answers 200`);
  for (const t of live) {
    try {
      wrk(t, Math.max(1, WARMUP));
    } catch (e) {
      if (!t.peer) throw e;
      t.error = `not measured: ${String(e.message).split('\n')[0]}`;
    }
  }
  const measured = live.filter((t) => !t.error);
  pinSelf(LOAD_CPUS);
  for (let round = 1; round <= ROUNDS; round++) {
    // Each round starts one target further along, so no target is always first (after the previous
    // round's heaviest peer) or always follows the same neighbour: order effects spread over all.
    const inRound = measured.filter((m) => !m.error);
    const shift = (round - 1) % inRound.length;
    for (const t of [...inRound.slice(shift), ...inRound.slice(0, shift)]) {
      try {
        if (ROUND_WARMUP > 0) wrk(t, ROUND_WARMUP);
        const { rps } = wrk(t, SECONDS);
        guarded[t.key].push(rps);
        log(`guarded GET round ${round}/${ROUNDS}: ${t.name}: ${fmt(rps)} req/s`);
      } catch (e) {
        if (!t.peer) throw e;
        t.error = `not measured: failed in round ${round}: ${String(e.message).split('\n')[0]}`;
        delete guarded[t.key];
        log(`${t.name} ${t.error}`);
      }
    }
  }
  pinSelf(null);
  const per = (a, b) => (guarded[a] && guarded[b] ? range(guarded[a].map((x, i) => x / guarded[b][i])) : null);
  results.guard = {
    rows: targets.map((t) =>
      t.error || !guarded[t.key]
        ? { key: t.key, name: t.name, peer: t.peer, note: t.error }
        : { key: t.key, name: t.name, peer: t.peer, rps: range(guarded[t.key]), ratio: per(t.key, t.reference ?? 'unguarded'), strictToIt: per('strict', t.key) },
    ),
    ratios: {
      statelessToUnguarded: per('stateless', 'unguardedStateless'),
      strictToUnguarded: per('strict', 'unguarded'),
      userGuardToUnguarded: per('userGuard', 'unguarded'),
      strictToUserGuard: per('strict', 'userGuard'),
      statelessToUserGuard: per('stateless', 'userGuard'),
      strictToStateless: per('strict', 'stateless'),
      strictToExpress: per('strict', 'express'),
    },
    betterAuthCacheMaxAge: BETTER_AUTH_CACHE_MAX_AGE,
    orderRotates: true,
    betterAuthSessions: BA_SESSIONS,
  };
  // the chart and the old readers of results.json
  results.guardedRows = results.guard.rows.filter((r) => r.rps);
  for (const s of [noCache, stateless, recipe, expressSession, betterAuth, betterAuthCache]) if (!s.error) stopServer(s);
}
