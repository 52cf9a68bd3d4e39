import type { Logger } from '@nestjs/common';
import { SessionRevokedError, SessionStoreUnavailableError } from './errors/session-error';
import type { SessionEnder } from './session-ender';
import type { SessionUser, UserId } from './session.types';

type LoadUser = (userId: UserId) => Promise<SessionUser<UserId> | null> | SessionUser<UserId> | null;

/**
 * The app's `loadUser`, as every path that re-reads a session's user calls it (refresh,
 * re-authentication, sockets): a user it no longer knows ends the session (`user_disabled`);
 * a loader that fails (its database down) fails closed, a 503 at the edge, never a 500.
 */
export class SessionUsers {
  constructor(
    private readonly loadUser: LoadUser,
    private readonly ender: Pick<SessionEnder, 'end'>,
    private readonly logger: Pick<Logger, 'error'>,
  ) {}

  /** The session's user as the app knows them now; throws `SessionRevokedError` after ending the session when it knows none. */
  async current(sessionId: string, userId: UserId, now: Date): Promise<SessionUser<UserId>> {
    let user: SessionUser<UserId> | null;
    try {
      user = await this.loadUser(userId);
    } catch {
      this.logger.error('loadUser failed');
      throw new SessionStoreUnavailableError('loadUser');
    }
    if (!user) {
      await this.ender.end(sessionId, 'user_disabled', now);
      throw new SessionRevokedError();
    }
    // The session's own user id stays authoritative, in the type it was issued with.
    return { id: userId, roles: normaliseRoles(user.roles) };
  }
}

/** Only string roles; anything else a loader returns is dropped. */
export function normaliseRoles(roles: unknown): string[] {
  return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [];
}
