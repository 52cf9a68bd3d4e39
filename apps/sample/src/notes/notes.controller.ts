import { Body, Controller, Get, Post, UseGuards } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { CurrentUser, SessionGuard, type SessionUser } from 'nest-sessions';
import { Note } from './note.entity';

class CreateNoteDto {
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  text!: string;
}

@Controller('notes')
@UseGuards(SessionGuard)
export class NotesController {
  constructor(@InjectRepository(Note) private readonly notes: Repository<Note>) {}

  @Get()
  async list(@CurrentUser() user: SessionUser) {
    const notes = await this.notes.find({ where: { userId: user.id }, order: { createdAt: 'DESC' }, take: 100 });
    return notes.map(({ id, text, createdAt }) => ({ id, text, createdAt }));
  }

  @Post()
  async create(@CurrentUser() user: SessionUser, @Body() dto: CreateNoteDto) {
    const note = this.notes.create({ id: randomUUID(), userId: user.id, text: dto.text, createdAt: new Date() });
    await this.notes.insert(note);
    return { id: note.id, text: note.text, createdAt: note.createdAt };
  }
}
