import type { SessionInfo, UserId } from '../session.types';

/**
 * The session `SessionGuard` or a socket handshake authenticated, per request (or socket `data`
 * object). A WeakMap, not a property of the request: adding a property to a fresh Express request
 * copies its hidden class, which costs over a microsecond a request, and an entry here a tenth of
 * that (BENCHMARKS.md, "Where a guarded request's time goes"). `user` stays a property: apps and
 * their own guards read and write `req.user`, as Passport does.
 */
const sessions = new WeakMap<object, SessionInfo<UserId>>();

export function setRequestSession(holder: object, session: SessionInfo<UserId>): void {
  sessions.set(holder, session);
}

/** The session left for `holder`, or undefined when none was authenticated. */
export function requestSessionOf<Id extends UserId = UserId>(holder: object | undefined): SessionInfo<Id> | undefined {
  return holder === undefined ? undefined : (sessions.get(holder) as SessionInfo<Id> | undefined);
}
