import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiSessionAuth, CurrentUser, SessionGuard, type SessionUser } from 'nest-sessions';
import { SecurityEventsService } from './security-events.service';

@Controller('me')
@UseGuards(SessionGuard)
@ApiTags('me')
@ApiSessionAuth()
export class SecurityEventsController {
  constructor(private readonly events: SecurityEventsService) {}

  @Get('security-events')
  @ApiOperation({ summary: "The signed-in user's recent security events", description: 'Logins, refreshes, revocations, reuse, expiry, failed logins: newest first, at most 50.' })
  @ApiOkResponse({ description: 'The events: `{ event, sessionId, detail, at }`.' })
  recent(@CurrentUser() user: SessionUser) {
    return this.events.recent(String(user.id));
  }
}
