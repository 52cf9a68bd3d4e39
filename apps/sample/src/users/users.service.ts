import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { randomUUID } from 'node:crypto';
import type { SessionUser } from 'nest-sessions';
import { AppError } from '../http/app-error';
import { HttpStatus } from '@nestjs/common';
import { User } from './user.entity';
import { PasswordHasher } from './password-hasher';
import { normaliseEmail, sampleConfig, type SampleConfig } from '../config/sample-config';

@Injectable()
export class UsersService {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @Inject(sampleConfig.KEY) private readonly config: SampleConfig,
    private readonly passwords: PasswordHasher,
  ) {}

  async register(email: string, password: string): Promise<User> {
    const normalised = normaliseEmail(email);
    const user = this.users.create({
      id: randomUUID(),
      email: normalised,
      passwordHash: await this.passwords.hash(password),
      roles: this.config.adminEmails.has(normalised) ? ['admin'] : [],
      disabledAt: null,
      createdAt: new Date(),
    });
    const inserted = await this.users
      .createQueryBuilder()
      .insert()
      .values(user)
      .orIgnore()
      .returning('id')
      .execute();
    if (inserted.raw.length === 0) throw new AppError('EMAIL_TAKEN', HttpStatus.CONFLICT, 'This email is already registered.');
    return user;
  }

  /**
   * The user if the password matches, else null, after the same work for both failures;
   * `accountId` names the account the email belongs to, if any, for the security log only.
   */
  async verifyCredentials(email: string, password: string): Promise<{ user: User | null; accountId: string | null }> {
    const account = await this.users.findOneBy({ email: normaliseEmail(email) });
    const hash = account?.passwordHash ?? (await this.passwords.dummyHash);
    const ok = await this.passwords.verify(hash, password);
    return { user: ok && account && !account.disabledAt ? account : null, accountId: account?.id ?? null };
  }

  /** Whether `password` is the user's, after the same work whether or not the user exists. */
  async verifyPassword(id: string, password: string): Promise<boolean> {
    const user = await this.users.findOne({ where: { id }, select: { id: true, passwordHash: true, disabledAt: true } });
    const ok = await this.passwords.verify(user?.passwordHash ?? (await this.passwords.dummyHash), password);
    return ok && !!user && !user.disabledAt;
  }

  async changePassword(id: string, password: string): Promise<void> {
    await this.users.update({ id }, { passwordHash: await this.passwords.hash(password) });
  }

  /** Marks the user disabled; true if such a user exists. Their sessions are ended by the caller. */
  async disable(id: string): Promise<boolean> {
    const result = await this.users.update({ id }, { disabledAt: new Date() });
    return (result.affected ?? 0) > 0;
  }

  /** `loadUser` for nest-sessions: called at each refresh, null for a missing or disabled user. */
  async findSessionUser(id: string): Promise<SessionUser | null> {
    const user = await this.users.findOne({ where: { id }, select: { id: true, roles: true, disabledAt: true } });
    return user && !user.disabledAt ? { id: user.id, roles: user.roles } : null;
  }

  /** The account's public fields only: the password hash stays in the database. */
  findById(id: string): Promise<Pick<User, 'id' | 'email'> | null> {
    return this.users.findOne({ where: { id }, select: { id: true, email: true } });
  }
}
