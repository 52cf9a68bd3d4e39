// The classic stateful alternative: express-session with connect-pg-simple on the same Postgres,
// default settings (the session is touched, so written, on every request). A benchmark peer.
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Controller, Get, Module, Post, Req, UnauthorizedException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import session from 'express-session';
import connectPgSimple from 'connect-pg-simple';

type SessionRequest = { session: { userId?: string; sid?: string } & Record<string, unknown> };

@Controller()
class SessionController {
  @Post('login')
  login(@Req() req: SessionRequest) {
    req.session.userId = randomUUID();
    req.session.sid = randomUUID();
    return { ok: true };
  }

  @Get('whoami')
  whoami(@Req() req: SessionRequest) {
    if (!req.session.userId) throw new UnauthorizedException();
    return { id: req.session.userId, roles: [], sessionId: req.session.sid };
  }
}

@Module({ controllers: [SessionController] })
class SessionPeerModule {}

async function main() {
  const app = await NestFactory.create<NestExpressApplication>(SessionPeerModule, { logger: ['error'] });
  const PgStore = connectPgSimple(session);
  app.use(
    session({
      store: new PgStore({ conString: process.env.DATABASE_URL, createTableIfMissing: true, tableName: 'bench_express_sessions' }),
      secret: 'bench-express-session-secret-0123456789abcdef',
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', maxAge: 3_600_000 },
    }),
  );
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  console.log(`listening on ${process.env.PORT}`);
}
void main();
