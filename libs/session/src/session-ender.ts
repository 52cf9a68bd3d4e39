import type { SessionStore } from './store/session.store';
import type { SessionLiveness } from './revocation/session-liveness';
import type { SessionEvents } from './events/session-events';
import type { RevokeReason, UserId } from './session.types';
import { restoreUserId } from './user-id';

/**
 * The one way a session ends before its time: the row is marked in one statement, then, after
 * the commit, every instance's cache forgets the session and the app hears a `revoked` event.
 */
export class SessionEnder {
  constructor(
    private readonly store: Pick<SessionStore, 'revoke'>,
    private readonly liveness: Pick<SessionLiveness, 'revoked'>,
    private readonly events: Pick<SessionEvents, 'emit'>,
  ) {}

  /** Ends one open session (of `ownerText` only, when given); false when it was not open. */
  async end(sessionId: string, reason: RevokeReason, now: Date, ownerText?: string): Promise<boolean> {
    const owner = await this.store.revoke(sessionId, reason, now, ownerText);
    if (owner) await this.ended(restoreUserId(owner.userId, owner.userIdNumeric), [sessionId], reason, now);
    return owner !== null;
  }

  /** After revocations commit: invalidate caches everywhere, then tell the app. */
  async ended(userId: UserId, sessionIds: string[], reason: RevokeReason, now: Date): Promise<string[]> {
    await this.liveness.revoked(sessionIds);
    for (const sessionId of sessionIds) this.events.emit('revoked', { sessionId, userId, at: now, reason });
    return sessionIds;
  }
}
