import { Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { EventEmitter } from 'node:events';
import type { RevokeReason, UserId } from '../session.types';
import type { CleanupReport } from '../cleanup/session-cleanup.service';
import type { SessionErrorCode } from '../errors/session-error';

/** Payload of every session event. Carries ids only, never a token or hash. */
export interface SessionEvent<Id extends UserId = UserId> {
  sessionId: string;
  /** In the type the app gave it to `issue` (a number stays a number). */
  userId: Id;
  at: Date;
}

/** A refresh that was refused: what the token named, if anything, and why (the error code). */
export interface RefreshFailedEvent {
  /** The session id the token named, or null for a token that names none. */
  sessionId: string | null;
  /** The session's user, when the session exists. */
  userId: UserId | null;
  at: Date;
  code: SessionErrorCode;
}

/** An unsafe cookie-authenticated request refused by `CsrfGuard`. */
export interface CsrfRejectedEvent {
  /** The session the request's cookies named, or null. */
  sessionId: string | null;
  at: Date;
  /** `Controller.handler` of the refused route (never its URL, which may carry values). */
  route: string;
}

/** Each event's name and its listener's arguments, for `SessionEvents.on(name, listener)`. */
export interface SessionEventMap {
  /** A session was created by `issue`. */
  issued: [SessionEvent];
  /** A refresh token was rotated. */
  refreshed: [SessionEvent];
  /** An earlier refresh secret was replayed; the session has been revoked. */
  reuse_detected: [SessionEvent];
  /**
   * A refresh secret of a DPoP-bound session came without a proof by its key, or with another key:
   * the secret was copied off its device. Refused; the session goes on (its owner still holds the key).
   */
  theft_suspected: [SessionEvent];
  /** A session ended before its expiry (emitted for reuse detection too). */
  revoked: [SessionEvent & { reason: RevokeReason }];
  /** A session ran out (idle or absolute timeout) unnoticed; found by the cleanup. `at` is when it ended. */
  expired: [SessionEvent & { reason: 'idle_timeout' | 'absolute_timeout' }];
  /** The user of a session proved who they are again (`reauthenticate`). */
  reauthenticated: [SessionEvent];
  /** A refresh was refused (bad or unknown token, ended session, rate limit). */
  refresh_failed: [RefreshFailedEvent];
  /** `CsrfGuard` refused a request. */
  csrf_rejected: [CsrfRejectedEvent];
  /** A cleanup pass finished (or was skipped because another instance held the lock). */
  cleanup: [CleanupReport];
}

/** Names under which the events also go through `@nestjs/event-emitter`, when the app has it. */
export const SESSION_EVENT_NAMES = {
  issued: 'session.issued',
  refreshed: 'session.refreshed',
  reuse_detected: 'session.reuse_detected',
  theft_suspected: 'session.theft_suspected',
  revoked: 'session.revoked',
  reauthenticated: 'session.reauthenticated',
  expired: 'session.expired',
  refresh_failed: 'session.refresh_failed',
  csrf_rejected: 'session.csrf_rejected',
  cleanup: 'session.cleanup',
} as const satisfies Record<keyof SessionEventMap, string>;

interface EventEmitter2Like {
  emit(event: string, ...values: unknown[]): unknown;
}

/**
 * Session lifecycle events, emitted after the database write has committed. A listener can
 * never undo that write or fail the request: a listener that throws, or returns a promise that
 * rejects, is logged (by event name and error class) and the others still run. When the app
 * imports `EventEmitterModule.forRoot()` (`@nestjs/event-emitter`), each event is also emitted
 * there under the names in `SESSION_EVENT_NAMES` (`session.issued`, `session.refreshed`, ...).
 *
 * @example
 * constructor(events: SessionEvents) {
 *   events.on('reuse_detected', (e) => alerting.notify(`refresh token reuse on ${e.sessionId}`));
 * }
 */
@Injectable()
export class SessionEvents extends EventEmitter<SessionEventMap> implements OnModuleInit {
  private readonly logger = new Logger('SessionEvents');
  private bus: EventEmitter2Like | null = null;

  constructor(@Optional() private readonly moduleRef?: ModuleRef) {
    super();
  }

  /** Finds `EventEmitter2` when the app has `@nestjs/event-emitter`. */
  onModuleInit(): void {
    this.bus = this.findEventEmitter2();
  }

  override emit<K extends keyof SessionEventMap>(name: K, ...args: SessionEventMap[K]): boolean {
    const listeners = this.rawListeners(name as never) as Array<(...a: unknown[]) => unknown>;
    for (const listener of listeners) this.invoke(name, () => listener.apply(this, args));
    if (this.bus) this.invoke(name, () => this.bus!.emit(SESSION_EVENT_NAMES[name], ...args));
    return listeners.length > 0;
  }

  private invoke(name: string, call: () => unknown): void {
    try {
      const result = call();
      if (isThenable(result)) result.then(undefined, (error: unknown) => this.failed(name, error));
    } catch (error) {
      this.failed(name, error);
    }
  }

  private failed(name: string, error: unknown): void {
    // The class only: an error message may quote whatever the listener was handling.
    const kind = (error as Error)?.constructor?.name ?? typeof error;
    this.logger.error(`a "${name}" listener failed (${kind}); the session change it was told about stands`);
  }

  /** `@nestjs/event-emitter` is optional: used only when installed and imported by the app. */
  private findEventEmitter2(): EventEmitter2Like | null {
    if (!this.moduleRef) return null;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { EventEmitter2 } = require('@nestjs/event-emitter') as { EventEmitter2: new () => EventEmitter2Like };
      return this.moduleRef.get(EventEmitter2, { strict: false });
    } catch {
      return null;
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return !!value && typeof (value as PromiseLike<unknown>).then === 'function';
}
