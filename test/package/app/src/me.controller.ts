import { Body, Controller, Get, Post, UseGuards } from '@nestjs/common';
import { CurrentSession, CurrentUser, SessionGuard, type SessionInfo, type SessionUser } from 'nest-sessions';

@Controller()
@UseGuards(SessionGuard)
export class MeController {
  @Get('me')
  me(@CurrentUser() user: SessionUser<number>, @CurrentSession() session: SessionInfo<number>) {
    const id: number = user.id;
    return { id, idType: typeof id, roles: user.roles, sessionId: session.id };
  }

  @Post('notes')
  note(@Body() body: { text: string }) {
    return { text: body.text };
  }
}
