import { Body, Controller, Get, Post, UseGuards } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiProperty, ApiTags, type SchemaObject } from '@nestjs/swagger';
import { ApiSessionAuth, CurrentUser, SessionGuard, type SessionUser } from 'nest-sessions';
import { ApiErrors, BODY_ERRORS } from '../http/openapi';
import { Note } from './note.entity';

class CreateNoteDto {
  @ApiProperty({ minLength: 1, maxLength: 2000 })
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  text!: string;
}

const NOTE: SchemaObject = {
  type: 'object',
  required: ['id', 'text', 'createdAt'],
  properties: { id: { type: 'string', format: 'uuid' }, text: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' } },
};

@Controller('notes')
@UseGuards(SessionGuard)
@ApiTags('notes')
@ApiSessionAuth()
export class NotesController {
  constructor(@InjectRepository(Note) private readonly notes: Repository<Note>) {}

  @Get()
  @ApiOperation({ summary: 'My notes, newest first (at most 100)' })
  @ApiOkResponse({ description: 'The notes.', schema: { type: 'array', items: NOTE } })
  async list(@CurrentUser() user: SessionUser) {
    const notes = await this.notes.find({ where: { userId: user.id }, order: { createdAt: 'DESC' }, take: 100 });
    return notes.map(({ id, text, createdAt }) => ({ id, text, createdAt }));
  }

  @Post()
  @ApiOperation({ summary: 'Add a note' })
  @ApiHeader({ name: 'x-csrf-token', required: false, description: 'The CSRF token: required when authenticated by cookie.', schema: { type: 'string' } })
  @ApiCreatedResponse({ description: 'Created.', schema: NOTE })
  @ApiErrors({ 400: ['VALIDATION_FAILED'], 403: ['CSRF_REJECTED'], ...BODY_ERRORS })
  async create(@CurrentUser() user: SessionUser, @Body() dto: CreateNoteDto) {
    const note = this.notes.create({ id: randomUUID(), userId: user.id, text: dto.text, createdAt: new Date() });
    await this.notes.insert(note);
    return { id: note.id, text: note.text, createdAt: note.createdAt };
  }
}
