// better-auth (https://better-auth.com) inside a minimal NestJS app, configured as its docs show:
// `database: new Pool({ connectionString })` on the same Postgres database as the other peers (in its own
// schema `better_auth`, set through the Pool's search_path as its PostgreSQL docs show), its own tables
// (user, session, account, verification) created at startup by its programmatic migration API
// (`getMigrations(options).runMigrations()` from better-auth/db/migration), email + password enabled,
// a fixed secret, and the session checked by a small Nest guard calling `auth.api.getSession({ headers })`
// with the Node headers converted by `fromNodeHeaders` (as the better-auth Express/NestJS integrations do).
// A benchmark peer, not part of the library.
//
// Two configurations, chosen by env:
//   default                        no cookie cache (better-auth's default): every session check reads the
//                                  session + user from Postgres; sign-out takes effect at once.
//   BETTER_AUTH_COOKIE_CACHE=true  session.cookieCache { enabled: true, maxAge: 5 * 60 } as its docs show:
//                                  a signed `better-auth.session_data` cookie carries the session, so checks
//                                  skip the database until it expires; a revoked session keeps passing for
//                                  up to maxAge seconds (the startup line prints it).
//
// Build and run (from the repo root):
//   npx tsc -p bench/tsconfig.json
//   PORT=4010 DATABASE_URL=postgres://postgres@127.0.0.1:5432/db node dist/bench/peers/better-auth.js
//   PORT=4011 DATABASE_URL=... BETTER_AUTH_COOKIE_CACHE=true node dist/bench/peers/better-auth.js
// Env: PORT (required), DATABASE_URL (required), BETTER_AUTH_SECRET (optional, a fixed 32+ char default),
//      BETTER_AUTH_COOKIE_CACHE=true (optional). baseURL is http://127.0.0.1:$PORT.
// Everything it stores is in schema better_auth (`DROP SCHEMA better_auth CASCADE` removes it); the
// bench user is bench-user@better-auth.test, signed up once (both configurations share it).
// Ready line: `listening on <port>` followed by ` (better-auth, cookie cache off)` or
//      ` (better-auth, cookie cache maxAge=300s)`.
//
// Routes (plain Nest routes, so the harness needs nothing better-auth specific):
//   POST /bench/session    no body. Signs the fixed bench user in (auth.api.signInEmail: one scrypt verify
//                          and one session row per call, so every call is a distinct session) and answers
//                          { cookie: "<the full Cookie header value to send>" } (session_token, plus
//                          session_data when the cookie cache is on).
//   GET  /whoami           guarded: 401 without a valid session, else { id, roles: [], sessionId }.
//   POST /bench/signout    send the session's Cookie header; calls auth.api.signOut (deletes the session
//                          row) and answers { ok: true }.
//   /api/auth/*            better-auth's own handler (toNodeHandler), mounted for completeness.
//
// better-auth is ESM-only; bench/tsconfig.json compiles to CommonJS, so it is loaded with `import()` in an
// async factory (tsc turns that into require(), which loads ESM on Node >= 20.19 / 22.12).
import 'reflect-metadata';
import type { IncomingHttpHeaders } from 'node:http';
import {
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  HttpCode,
  Inject,
  Injectable,
  Module,
  Post,
  Req,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Client, Pool } from 'pg';

const PORT = Number(process.env.PORT);
const SECRET = process.env.BETTER_AUTH_SECRET ?? 'bench-better-auth-secret-0123456789abcdef0123456789';
const COOKIE_CACHE = process.env.BETTER_AUTH_COOKIE_CACHE === 'true';
const COOKIE_CACHE_MAX_AGE = 5 * 60; // seconds, the docs' example (and the default maxAge)
const SCHEMA = 'better_auth';
const BENCH_USER = { email: 'bench-user@better-auth.test', password: 'bench-user-password-0123456789', name: 'Bench User' };

async function createAuth() {
  const { betterAuth } = await import('better-auth');
  return betterAuth({
    baseURL: `http://127.0.0.1:${PORT}`,
    secret: SECRET,
    // Its own schema, the docs' "Use a non-default schema" option 2: its generic table names (user,
    // session, account, verification) and their index names (session_pkey...) stay clear of the other
    // peers' tables in public (connect-pg-simple names its primary key "session_pkey" too).
    database: new Pool({ connectionString: process.env.DATABASE_URL, options: `-c search_path=${SCHEMA}` }),
    emailAndPassword: { enabled: true },
    ...(COOKIE_CACHE ? { session: { cookieCache: { enabled: true, maxAge: COOKIE_CACHE_MAX_AGE } } } : {}),
  });
}
type Auth = Awaited<ReturnType<typeof createAuth>>;

const AUTH = Symbol('better-auth');
type NodeRequest = { headers: IncomingHttpHeaders; user?: { id: string; roles: string[]; sessionId: string } };

let fromNodeHeaders: (headers: IncomingHttpHeaders) => Headers;

/** The Cookie header a client must send, from a response's Set-Cookie lines (deletions dropped). */
function cookieHeader(setCookies: string[]): string {
  return setCookies
    .filter((line) => !/;\s*max-age=0\b/i.test(line))
    .map((line) => line.split(';', 1)[0])
    .join('; ');
}

@Injectable()
class BetterAuthGuard implements CanActivate {
  constructor(@Inject(AUTH) private readonly auth: Auth) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<NodeRequest>();
    const result = await this.auth.api.getSession({ headers: fromNodeHeaders(req.headers) });
    if (!result) throw new UnauthorizedException();
    req.user = { id: result.user.id, roles: [], sessionId: result.session.id };
    return true;
  }
}

@Controller()
class BetterAuthController {
  constructor(@Inject(AUTH) private readonly auth: Auth) {}

  @Post('bench/session')
  @HttpCode(200)
  async session() {
    const { headers } = await this.auth.api.signInEmail({
      body: { email: BENCH_USER.email, password: BENCH_USER.password },
      returnHeaders: true,
    });
    return { cookie: cookieHeader(headers.getSetCookie()) };
  }

  @Post('bench/signout')
  @HttpCode(200)
  async signout(@Req() req: NodeRequest) {
    await this.auth.api.signOut({ headers: fromNodeHeaders(req.headers) });
    return { ok: true };
  }

  @UseGuards(BetterAuthGuard)
  @Get('whoami')
  whoami(@Req() req: NodeRequest) {
    return req.user;
  }
}

async function main() {
  const auth = await createAuth();
  ({ fromNodeHeaders } = await import('better-auth/node'));
  const { toNodeHandler } = await import('better-auth/node');
  const { getMigrations } = await import('better-auth/db/migration');

  // Both configurations may start at once on the same database: serialise the schema setup and the
  // one-time sign-up behind an advisory lock.
  const lock = new Client({ connectionString: process.env.DATABASE_URL });
  await lock.connect();
  try {
    await lock.query("SELECT pg_advisory_lock(hashtext('bench-better-auth-peer'))");
    await lock.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`); // the docs' prerequisite for option 2
    const { runMigrations } = await getMigrations(auth.options);
    await runMigrations();
    try {
      await auth.api.signUpEmail({ body: BENCH_USER });
    } catch (error) {
      // Already there from an earlier run on the same database: fine. Anything else is fatal.
      const code = (error as { body?: { code?: string } }).body?.code;
      if (code !== 'USER_ALREADY_EXISTS' && code !== 'USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL') throw error;
    }
  } finally {
    await lock.end(); // also releases the lock
  }

  @Module({ controllers: [BetterAuthController], providers: [{ provide: AUTH, useValue: auth }, BetterAuthGuard] })
  class BetterAuthPeerModule {}

  const app = await NestFactory.create<NestExpressApplication>(BetterAuthPeerModule, { logger: ['error'] });
  // better-auth's own routes, registered before Nest adds its body parsers (as its Express docs require).
  app.getHttpAdapter().getInstance().all('/api/auth/*splat', toNodeHandler(auth));
  await app.listen(PORT, '127.0.0.1');
  const mode = COOKIE_CACHE ? `cookie cache maxAge=${COOKIE_CACHE_MAX_AGE}s` : 'cookie cache off';
  console.log(`listening on ${PORT} (better-auth, ${mode})`);
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
