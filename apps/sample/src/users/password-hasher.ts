import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import * as argon2 from 'argon2';

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. */
const ARGON2 = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** argon2id hashing; no 72-byte limit, unlike bcrypt. */
@Injectable()
export class PasswordHasher {
  /** Verified against when an email is unknown, so that both login failures cost one verification. */
  readonly dummyHash: Promise<string> = this.hash(randomBytes(32).toString('base64url'));

  hash(password: string): Promise<string> {
    return argon2.hash(password, ARGON2);
  }

  verify(hash: string, password: string): Promise<boolean> {
    return argon2.verify(hash, password).catch(() => false);
  }
}
