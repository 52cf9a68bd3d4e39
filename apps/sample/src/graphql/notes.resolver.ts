import { UseGuards } from '@nestjs/common';
import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { CurrentUser, SessionGuard, type SessionUser } from 'nest-sessions';
import { Note } from '../notes/note.entity';
import { AddNoteArgs, NoteType } from './graphql.types';

/**
 * `notes` and `addNote(text)`, on the same table as `GET`/`POST /notes`. `addNote` is a
 * mutation: with the cookie transport the app's global `CsrfGuard` asks for `x-csrf-token`.
 */
@Resolver(() => NoteType)
@UseGuards(SessionGuard)
export class NotesResolver {
  constructor(@InjectRepository(Note) private readonly notes: Repository<Note>) {}

  @Query(() => [NoteType], { name: 'notes', description: 'My notes, newest first (at most 100).' })
  async notesList(@CurrentUser() user: SessionUser): Promise<NoteType[]> {
    const notes = await this.notes.find({ where: { userId: user.id }, order: { createdAt: 'DESC' }, take: 100 });
    return notes.map(({ id, text, createdAt }) => ({ id, text, createdAt }));
  }

  @Mutation(() => NoteType, { description: 'Add a note.' })
  async addNote(@CurrentUser() user: SessionUser, @Args() { text }: AddNoteArgs): Promise<NoteType> {
    const note = this.notes.create({ id: randomUUID(), userId: user.id, text, createdAt: new Date() });
    await this.notes.insert(note);
    return { id: note.id, text: note.text, createdAt: note.createdAt };
  }
}
