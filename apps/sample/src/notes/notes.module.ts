import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Note } from './note.entity';
import { NotesController } from './notes.controller';

@Module({ imports: [TypeOrmModule.forFeature([Note])], controllers: [NotesController] })
export class NotesModule {}
