import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

@Entity({ name: 'notes' })
@Index('notes_user_idx', ['userId', 'createdAt'])
export class Note {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'user_id' })
  userId!: string;

  @Column('text')
  text!: string;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;
}
