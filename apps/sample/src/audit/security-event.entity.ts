import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One security event of a user: ids, the event's name, its reason or code, and when. Never a token. */
@Entity({ name: 'security_events' })
@Index('security_events_user_idx', ['userId', 'at'])
export class SecurityEvent {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id!: string;

  @Column('text', { name: 'user_id' })
  userId!: string;

  @Column('uuid', { name: 'session_id', nullable: true })
  sessionId!: string | null;

  @Column('text')
  event!: string;

  /** The revocation reason or the error code, when the event has one. */
  @Column('text', { nullable: true })
  detail!: string | null;

  @Column('timestamptz')
  at!: Date;
}
