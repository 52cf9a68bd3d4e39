import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'package_test_users' })
export class User {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column('text', { unique: true })
  email!: string;

  @Column('text', { name: 'password_hash' })
  passwordHash!: string;

  @Column('text', { array: true, default: () => "'{}'" })
  roles!: string[];
}
