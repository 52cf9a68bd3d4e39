import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { SESSION_EVENT_NAMES, SessionEvents, type SessionEventMap } from 'nest-sessions';
import { SecurityEvent } from './security-event.entity';

/** The library's events this app keeps per user (cleanup reports and CSRF refusals name no user). */
const RECORDED = ['issued', 'refreshed', 'reauthenticated', 'revoked', 'reuse_detected', 'expired', 'refresh_failed'] as const;
type Recorded = (typeof RECORDED)[number];

/**
 * Writes the user's security events to the audit table, from the library's events (after their
 * database write has committed: a failure here is logged by `SessionEvents` and never undoes it),
 * and the app's own (`login.failed`). Shows a user their recent ones.
 */
@Injectable()
export class SecurityEventsService implements OnModuleInit {
  constructor(
    @InjectRepository(SecurityEvent) private readonly events: Repository<SecurityEvent>,
    private readonly sessionEvents: SessionEvents,
  ) {}

  onModuleInit(): void {
    for (const name of RECORDED) {
      this.sessionEvents.on(name, (event: SessionEventMap[Recorded][0]) => this.fromLibrary(name, event));
    }
  }

  /** An event of the app's own, such as a failed login to a known account. */
  async record(userId: string, event: string, sessionId: string | null = null, detail: string | null = null): Promise<void> {
    await this.events.insert({ userId, event, sessionId, detail, at: new Date() });
  }

  /**
   * `record` without making the caller wait: for an answer whose timing must not depend on whether
   * there is a user to record for. Nothing to do for no user; a failed write is logged by its class.
   */
  recordInBackground(userId: string | null, event: string): void {
    if (!userId) return;
    this.record(userId, event).catch((error: unknown) => {
      new Logger('SecurityEvents').error(`could not record ${event}: ${error instanceof Error ? error.constructor.name : typeof error}`);
    });
  }

  /** The user's latest events, newest first. */
  recent(userId: string, limit = 50): Promise<Array<Pick<SecurityEvent, 'event' | 'sessionId' | 'detail' | 'at'>>> {
    return this.events.find({ where: { userId }, order: { at: 'DESC', id: 'DESC' }, take: limit, select: { event: true, sessionId: true, detail: true, at: true } });
  }

  private async fromLibrary(name: Recorded, event: SessionEventMap[Recorded][0]): Promise<void> {
    const userId = 'userId' in event ? event.userId : null;
    if (userId === null || userId === undefined) return; // a refused refresh that named no session
    const detail = 'reason' in event ? event.reason : 'code' in event ? event.code : null;
    await this.events.insert({ userId: String(userId), event: SESSION_EVENT_NAMES[name], sessionId: event.sessionId, detail, at: event.at });
  }
}
