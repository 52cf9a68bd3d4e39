import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiSessionAuth, Roles, RolesGuard, SessionGuard } from 'nest-sessions';
import { ApiErrors } from '../http/openapi';

@Controller('admin')
@UseGuards(SessionGuard, RolesGuard)
@Roles('admin')
@ApiTags('admin')
@ApiSessionAuth()
export class AdminController {
  @Get('ping')
  @ApiOperation({ summary: 'For the `admin` role only' })
  @ApiOkResponse({ description: 'The caller is an admin.', schema: { type: 'object', required: ['pong'], properties: { pong: { type: 'boolean', enum: [true] } } } })
  @ApiErrors({ 403: ['FORBIDDEN'] })
  ping() {
    return { pong: true };
  }
}
