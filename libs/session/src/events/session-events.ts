import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { RevokeReason } from '../session.types';
import type { CleanupReport } from '../cleanup/session-cleanup.service';

/** Payload of every session event. Carries ids only, never a token or hash. */
export interface SessionEvent {
  sessionId: string;
  userId: string;
  at: Date;
}

export interface SessionEventMap {
  /** A session was created by `issue`. */
  issued: [SessionEvent];
  /** A refresh token was rotated. */
  refreshed: [SessionEvent];
  /** An earlier refresh secret was replayed; the session has been revoked. */
  reuse_detected: [SessionEvent];
  /** A session ended before its expiry (emitted for reuse detection too). */
  revoked: [SessionEvent & { reason: RevokeReason }];
  /** A cleanup pass finished (or was skipped because another instance held the lock). */
  cleanup: [CleanupReport];
}

/**
 * Session lifecycle events, emitted after the database write has committed.
 *
 * @example
 * constructor(events: SessionEvents) {
 *   events.on('reuse_detected', (e) => alerting.notify(`refresh token reuse on ${e.sessionId}`));
 * }
 */
@Injectable()
export class SessionEvents extends EventEmitter<SessionEventMap> {}
