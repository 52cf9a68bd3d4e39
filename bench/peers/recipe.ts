// The NestJS docs' JWT recipe, as the docs configure it: passport-jwt through AuthGuard('jwt'),
// the secret as a string. A benchmark peer, not part of the library.
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Controller, Get, Injectable, Module, Post, Req, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { JwtModule, JwtService } from '@nestjs/jwt';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';

const SECRET = process.env.RECIPE_SECRET ?? 'bench-recipe-secret-0123456789abcdef0123456789';

@Injectable()
class JwtStrategy extends PassportStrategy(Strategy) {
  constructor() {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), ignoreExpiration: false, secretOrKey: SECRET });
  }

  validate(payload: { sub: string; sid: string; roles: string[] }) {
    return { id: payload.sub, roles: payload.roles, sessionId: payload.sid };
  }
}

@Controller()
class RecipeController {
  constructor(private readonly jwt: JwtService) {}

  @Post('login')
  login() {
    const id = randomUUID();
    return { accessToken: this.jwt.sign({ sub: id, sid: randomUUID(), roles: [] }) };
  }

  @UseGuards(AuthGuard('jwt'))
  @Get('whoami')
  whoami(@Req() req: { user: unknown }) {
    return req.user;
  }
}

@Module({
  imports: [PassportModule, JwtModule.register({ secret: SECRET, signOptions: { expiresIn: '60m' } })],
  controllers: [RecipeController],
  providers: [JwtStrategy],
})
class RecipeModule {}

async function main() {
  const app = await NestFactory.create(RecipeModule, { logger: ['error'] });
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  console.log(`listening on ${process.env.PORT}`);
}
void main();
