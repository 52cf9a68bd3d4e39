import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { randomBytes, randomUUID } from 'node:crypto';
import * as argon2 from 'argon2';
import { SessionError, type SessionUser } from 'nest-sessions';
import { HttpStatus } from '@nestjs/common';
import { User } from './user.entity';
import { normaliseEmail, sampleConfig, type SampleConfig } from '../config/sample-config';

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. */
const ARGON2 = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

@Injectable()
export class UsersService {
  /** Verified against when the email is unknown, so both failures cost one argon2 verification. */
  private readonly dummyHash: Promise<string>;

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @Inject(sampleConfig.KEY) private readonly config: SampleConfig,
  ) {
    this.dummyHash = argon2.hash(randomBytes(32).toString('base64url'), ARGON2);
  }

  async register(email: string, password: string): Promise<User> {
    const normalised = normaliseEmail(email);
    const user = this.users.create({
      id: randomUUID(),
      email: normalised,
      passwordHash: await argon2.hash(password, ARGON2),
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
    if (inserted.raw.length === 0) throw new SessionError('EMAIL_TAKEN', HttpStatus.CONFLICT, 'This email is already registered.');
    return user;
  }

  /** The user if the password matches; null otherwise, after the same work for both failures. */
  async verifyCredentials(email: string, password: string): Promise<User | null> {
    const user = await this.users.findOneBy({ email: normaliseEmail(email) });
    const hash = user?.passwordHash ?? (await this.dummyHash);
    const ok = await argon2.verify(hash, password).catch(() => false);
    return ok && user && !user.disabledAt ? user : null;
  }

  /** `loadUser` for nest-sessions: called at each refresh, null for a missing or disabled user. */
  async findSessionUser(id: string): Promise<SessionUser | null> {
    const user = await this.users.findOne({ where: { id }, select: { id: true, roles: true, disabledAt: true } });
    return user && !user.disabledAt ? { id: user.id, roles: user.roles } : null;
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }
}
