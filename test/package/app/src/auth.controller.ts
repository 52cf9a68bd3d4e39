import { Body, Controller, HttpCode, Post, Req, Res, UnauthorizedException } from '@nestjs/common';
import { LoginRoute, SessionHttp, type RequestLike, type ResponseLike } from 'nest-sessions';
import { UsersService } from './users.service';

interface Credentials {
  email: string;
  password: string;
}

@Controller('auth')
export class AuthController {
  constructor(
    private readonly users: UsersService,
    private readonly sessionHttp: SessionHttp,
  ) {}

  @Post('register')
  @LoginRoute()
  async register(@Body() dto: Credentials) {
    const user = await this.users.register(dto.email, dto.password);
    return { id: user.id, email: user.email };
  }

  @Post('login')
  @LoginRoute()
  @HttpCode(200)
  async login(@Body() dto: Credentials, @Req() req: RequestLike, @Res({ passthrough: true }) res: ResponseLike) {
    const user = await this.users.verifyCredentials(dto.email, dto.password);
    if (!user) throw new UnauthorizedException();
    return { user: { id: user.id, email: user.email }, ...(await this.sessionHttp.login(req, res, { id: user.id, roles: user.roles })) };
  }
}
