import { ConflictException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { SessionUser } from 'nest-sessions';
import { User } from './user.entity';

/** The app's own users (numeric ids): the library never sees a password. */
@Injectable()
export class UsersService {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  async register(email: string, password: string): Promise<User> {
    if (await this.users.findOneBy({ email })) throw new ConflictException();
    const salt = randomBytes(16);
    const hash = `${salt.toString('hex')}:${scryptSync(password, salt, 32).toString('hex')}`;
    return this.users.save(this.users.create({ email, passwordHash: hash, roles: [] }));
  }

  async verifyCredentials(email: string, password: string): Promise<User | null> {
    const user = await this.users.findOneBy({ email });
    if (!user) return null;
    const [salt, hash] = user.passwordHash.split(':');
    const ok = timingSafeEqual(scryptSync(password, Buffer.from(salt, 'hex'), 32), Buffer.from(hash, 'hex'));
    return ok ? user : null;
  }

  async findSessionUser(id: number): Promise<SessionUser<number> | null> {
    const user = await this.users.findOneBy({ id });
    return user ? { id: user.id, roles: user.roles } : null;
  }
}
