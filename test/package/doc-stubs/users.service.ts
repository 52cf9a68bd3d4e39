// A stand-in for an app's own users service, for the doc snippets that import `./users.service`
// (see test/package/doc-snippets.cjs). Only its shape matters: the checks compile, never run it.
import { Injectable } from '@nestjs/common';
import type { SessionUser } from 'nest-sessions';

/** A user as the app keeps it; the library only ever sees `{ id, roles }`. */
export interface AppUser {
  id: string;
  email: string;
  roles: string[];
}

@Injectable()
export class UsersService {
  /** The user whose password this is, or null (unknown email and wrong password alike). */
  async verifyCredentials(_email: string, _password: string): Promise<AppUser | null> {
    return null;
  }

  /** Whether `password` is this user's password (re-authentication). */
  async verifyPassword(_id: string, _password: string): Promise<boolean> {
    return false;
  }

  async changePassword(_id: string, _newPassword: string): Promise<void> {}

  /** `{ id, roles }` for `loadUser`, or null for a deleted or disabled user. */
  async findSessionUser(_id: string): Promise<SessionUser | null> {
    return null;
  }
}
