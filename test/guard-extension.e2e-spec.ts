import { Controller, ForbiddenException, Get, HttpCode, Injectable, Post, UseGuards } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import request from 'supertest';
import { CsrfGuard, CurrentUser, SessionGuard, SessionError, type AccessTokenSource, type GuardedRequest, type RequestLike, type SessionUser } from 'nest-sessions';
import { bareLogin, startBareApp, UserAppController } from './support/bare-app';

/** A stricter CSRF check for some routes: only what the browser itself says is same-origin. */
@Injectable()
class SameOriginOnlyCsrfGuard extends CsrfGuard {
  override isAllowedOrigin(req: RequestLike): boolean {
    return req.headers['sec-fetch-site'] === 'same-origin' && super.isAllowedOrigin(req);
  }
}

@Controller('strict')
class StrictController {
  @Post()
  @HttpCode(204)
  @UseGuards(SameOriginOnlyCsrfGuard)
  act() {}
}

/** A guard for a transport where the token travels elsewhere (a WebSocket handshake, say). */
@Injectable()
class HandshakeSessionGuard extends SessionGuard {
  protected override findToken(req: GuardedRequest): AccessTokenSource | null {
    const token = req.headers['x-handshake-token'];
    return typeof token === 'string' ? { token, via: 'bearer' } : null;
  }

  protected override fail(error: unknown): never {
    throw new ForbiddenException({ reason: error instanceof SessionError ? error.code : 'UNKNOWN' });
  }
}

@Controller('handshake')
class HandshakeController {
  @Get()
  @UseGuards(HandshakeSessionGuard)
  who(@CurrentUser() user: SessionUser) {
    return { id: user.id };
  }
}

/** Guards built to extend, like @nestjs/throttler's. */
describe('extending SessionGuard', () => {
  it('a subclass finds the token elsewhere and maps failures, keeping the cache and revocation checks', async () => {
    const t = await startBareApp({ controllers: [UserAppController, HandshakeController], providers: [HandshakeSessionGuard] });
    try {
      const login = await request(t.server).post('/login').set('X-Session-Transport', 'bearer').send({ id: 'ws-user' });
      const ok = await request(t.server).get('/handshake').set('x-handshake-token', login.body.accessToken);
      expect(ok.body).toEqual({ id: 'ws-user' });
      // The default place is not looked at any more.
      const bearer = await request(t.server).get('/handshake').set('Authorization', `Bearer ${login.body.accessToken}`);
      expect([bearer.status, bearer.body.reason]).toEqual([403, 'UNAUTHENTICATED']);
      await request(t.server).post('/auth/logout').send({ refreshToken: login.body.refreshToken });
      const revoked = await request(t.server).get('/handshake').set('x-handshake-token', login.body.accessToken);
      expect([revoked.status, revoked.body.reason]).toEqual([403, 'SESSION_REVOKED']);
    } finally {
      await t.close();
    }
  });

  it('a stricter CsrfGuard subclass on a route still checks a request the global CsrfGuard let through', async () => {
    const t = await startBareApp({
      controllers: [UserAppController, StrictController],
      providers: [SameOriginOnlyCsrfGuard, { provide: APP_GUARD, useExisting: CsrfGuard }],
    });
    try {
      const { cookie, csrf } = await bareLogin(t.server, 'strict-user', 'cookie');
      const post = (headers: Record<string, string>) => request(t.server).post('/strict').set({ cookie, 'x-csrf-token': csrf, ...headers });
      expect((await post({})).status).toBe(403);
      expect((await post({ 'Sec-Fetch-Site': 'same-origin' })).status).toBe(204);
    } finally {
      await t.close();
    }
  });
});
