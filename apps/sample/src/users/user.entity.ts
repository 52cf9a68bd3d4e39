import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'users' })
export class User {
  @PrimaryColumn('uuid')
  id!: string;

  /** Normalised (NFKC, lower case) before it is stored or looked up. */
  @Column('text', { unique: true })
  email!: string;

  /** argon2id PHC string. */
  @Column('text', { name: 'password_hash' })
  passwordHash!: string;

  @Column('text', { array: true, default: () => "'{}'" })
  roles!: string[];

  @Column('timestamptz', { name: 'disabled_at', nullable: true })
  disabledAt!: Date | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;
}
