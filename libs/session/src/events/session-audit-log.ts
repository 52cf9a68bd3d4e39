import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { RESOLVED_SESSION_OPTIONS } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { SESSION_EVENT_NAMES, SessionEvents, type SessionEventMap } from './session-events';

type Audited = Exclude<keyof SessionEventMap, 'cleanup'>;

/** What each security event means for someone reading the log: failures and reuse are warnings. */
const LEVELS: Record<Audited, 'log' | 'warn'> = {
  issued: 'log',
  refreshed: 'log',
  revoked: 'log',
  reauthenticated: 'log',
  expired: 'log',
  reuse_detected: 'warn',
  theft_suspected: 'warn',
  refresh_failed: 'warn',
  csrf_rejected: 'warn',
};

/**
 * The security log (ASVS 16.3.1): one line per session event, under the `SessionAudit` logger
 * context, as one JSON object: `{ event, at, userId, sessionId, ... }` plus `reason`, `code` or
 * `route` where the event has one. Events carry ids only, so no token, hash, cookie or secret
 * can reach a line. On by default; `auditLog: false` leaves the events to the app's own listeners.
 */
@Injectable()
export class SessionAuditLog implements OnModuleInit {
  private readonly logger = new Logger('SessionAudit');

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly events: SessionEvents,
  ) {}

  onModuleInit(): void {
    if (!this.options.auditLog) return;
    for (const name of Object.keys(LEVELS) as Audited[]) {
      this.events.on(name, (event: SessionEventMap[Audited][0]) => this.write(name, event));
    }
  }

  private write(name: Audited, event: SessionEventMap[Audited][0]): void {
    // No line is built that the app's log levels would drop (a refresh is cheap enough for it to show).
    if (!Logger.isLevelEnabled(LEVELS[name])) return;
    const { at, sessionId, ...rest } = event;
    const userId = 'userId' in rest ? rest.userId : null;
    const line = { event: SESSION_EVENT_NAMES[name], at: at.toISOString(), userId, sessionId, ...rest };
    this.logger[LEVELS[name]](JSON.stringify(line));
  }
}
