import { Controller, Get, UseGuards } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Repository } from 'typeorm';
import { AnyGuard, ApiSessionAuth, CurrentSession, CurrentUser, Roles, RolesGuard, SessionGuard, type SessionInfo, type SessionUser } from 'nest-sessions';
import { ApiErrors } from '../http/openapi';
import { Note } from '../notes/note.entity';
import { User } from '../users/user.entity';
import { ApiKeyGuard } from './api-key.guard';

/**
 * `GET /stats`, for people and machines: an admin's session (cookie or bearer) or a service's API
 * key (`x-api-key`). `AnyGuard` admits the request when either guard does; `RolesGuard` then
 * reads the roles of whichever caller it was.
 */
@Controller('stats')
@UseGuards(AnyGuard(SessionGuard, ApiKeyGuard), RolesGuard)
@Roles('admin', 'service')
@ApiTags('admin')
@ApiSessionAuth()
@ApiSecurity('api-key')
export class StatsController {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @InjectRepository(Note) private readonly notes: Repository<Note>,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Counts, for an admin session or a service API key' })
  @ApiOkResponse({
    description: 'Who called (by session or by key) and the counts.',
    schema: {
      type: 'object',
      required: ['caller', 'users', 'notes'],
      properties: {
        caller: {
          type: 'object',
          required: ['id', 'roles', 'via'],
          properties: { id: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } }, via: { type: 'string', enum: ['session', 'api-key'] } },
        },
        users: { type: 'integer' },
        notes: { type: 'integer' },
      },
    },
  })
  @ApiErrors({ 401: ['UNAUTHENTICATED', 'ACCESS_TOKEN_EXPIRED', 'SESSION_REVOKED', 'INVALID_API_KEY'], 403: ['FORBIDDEN'] })
  async stats(@CurrentUser() caller: SessionUser, @CurrentSession() session: SessionInfo | undefined) {
    const [users, notes] = await Promise.all([this.users.count(), this.notes.count()]);
    // A key-authenticated request has no session: that is how the handler tells the two apart.
    return { caller: { id: caller.id, roles: caller.roles, via: session ? 'session' : 'api-key' }, users, notes };
  }
}
