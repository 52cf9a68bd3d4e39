import type { Logger } from '@nestjs/common';
import type { ResolvedSessionOptions } from './resolve-options';
import { checkLifetimes } from './resolve-options';
import { parseDuration } from './duration';
import type { SessionUser, UserId } from './session.types';

/** The lifetimes and cookie kind of a new session. */
export interface SessionProfile {
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  /** False: the cookies end with the browser session. */
  persistent: boolean;
}

/**
 * A new session's profile: "remember me" when asked for and the app has that profile, then the
 * app's `sessionLifetime` for this user, checked as the options are.
 */
export function sessionProfile(
  options: Pick<ResolvedSessionOptions, 'rememberMe' | 'sessionLifetime' | 'idleTimeoutMs' | 'absoluteTimeoutMs' | 'accessTokenTtlMs'>,
  user: SessionUser<UserId>,
  rememberMe: boolean,
  logger: Pick<Logger, 'error'>,
): SessionProfile {
  const { rememberMe: long, sessionLifetime } = options;
  const remembered = rememberMe && long !== null;
  let idleTimeoutMs = remembered ? long.idleTimeoutMs : options.idleTimeoutMs;
  let absoluteTimeoutMs = remembered ? long.absoluteTimeoutMs : options.absoluteTimeoutMs;
  const chosen = sessionLifetime?.(user, rememberMe);
  if (chosen) {
    try {
      const idle = chosen.idleTimeout === undefined ? idleTimeoutMs : parseDuration(chosen.idleTimeout, 'idleTimeout') * 1000;
      const absolute = chosen.absoluteTimeout === undefined ? absoluteTimeoutMs : parseDuration(chosen.absoluteTimeout, 'absoluteTimeout') * 1000;
      ({ idleTimeoutMs, absoluteTimeoutMs } = checkLifetimes(idle, absolute, options.accessTokenTtlMs, (message) => new Error(message)));
    } catch (error) {
      // The app's bug must not cost the user their login: the profile's own lifetimes are safe.
      logger.error(`sessionLifetime returned a lifetime that cannot be used (${(error as Error).message}); the profile's lifetimes apply`);
    }
  }
  // Without a "remember me" profile every session keeps persistent cookies, as before it existed.
  return { idleTimeoutMs, absoluteTimeoutMs, persistent: long === null || rememberMe };
}
