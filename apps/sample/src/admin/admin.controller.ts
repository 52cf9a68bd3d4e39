import { Controller, Get, UseGuards } from '@nestjs/common';
import { Roles, RolesGuard, SessionGuard } from 'nest-sessions';

@Controller('admin')
@UseGuards(SessionGuard, RolesGuard)
@Roles('admin')
export class AdminController {
  @Get('ping')
  ping() {
    return { pong: true };
  }
}
