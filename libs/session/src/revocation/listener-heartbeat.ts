import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { RevocationTransport } from './revocation-message';

/**
 * Proves that the revocation listener still hears the bus. Every period the instance sends a
 * heartbeat addressed to itself, through the same path revocations take (the app's pool and
 * NOTIFY, or the Redis publisher); the listener counts as alive while the last one came back at
 * most two periods ago. A connection that dies silently (a half-open TCP connection, a proxy or
 * NAT that drops it, PgBouncer in transaction mode where LISTEN never hears anything) stops the
 * heartbeats, and the cache stops answering within two periods: strict checks read the store
 * until a heartbeat comes back.
 */
export class ListenerHeartbeat {
  private readonly logger = new Logger('SessionRevocation');
  private readonly lapseMs: number;
  private timer?: NodeJS.Timeout;
  /** When a heartbeat last came back (this instance's clock); -Infinity: not since (re)connecting. */
  private lastBeatAt = -Infinity;
  /** When the current connection was made; null while disconnected. */
  private connectedAt: number | null = null;
  /** Whether any heartbeat came back on the current connection. */
  private heardOnConnection = false;
  /** The last few nonces sent: only those count, so stray messages prove nothing. */
  private readonly sent: string[] = [];
  private lapseLoggedAt = -Infinity;
  /** When a connection that never heard its heartbeat was last dropped. */
  private deafRestartAt = -Infinity;
  private sending = false;

  constructor(
    private readonly periodMs: number,
    private readonly transport: RevocationTransport,
    /** Called when the listener went deaf: entries cached before may have missed revocations. */
    private readonly onLapse: () => void,
  ) {
    this.lapseMs = 2 * periodMs;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Seconds since the last heartbeat came back; null before the first. */
  ageSeconds(now: number): number | null {
    return Number.isFinite(this.lastBeatAt) ? (now - this.lastBeatAt) / 1000 : null;
  }

  /** True while the last heartbeat came back within two periods. */
  isAlive(now: number): boolean {
    return now - this.lastBeatAt <= this.lapseMs;
  }

  /** The listener (re)connected: not proven alive until a heartbeat sent on it comes back. */
  connected(now: number): void {
    this.connectedAt = now;
    this.heardOnConnection = false;
    this.lastBeatAt = -Infinity;
    this.send();
  }

  disconnected(): void {
    this.connectedAt = null;
  }

  /** A heartbeat came back; true when it was one of ours. */
  received(nonce: string, now: number): boolean {
    if (!this.sent.includes(nonce)) return false;
    if (!this.heardOnConnection && this.lapseLoggedAt > -Infinity) this.logger.log('revocation listener hears its heartbeat again; session cache in use');
    this.heardOnConnection = true;
    this.lastBeatAt = now;
    this.lapseLoggedAt = -Infinity;
    return true;
  }

  private tick(): void {
    const now = Date.now();
    if (this.connectedAt === null) return;
    if (!this.isAlive(now) && now - Math.max(this.connectedAt, this.lastBeatAt) > this.lapseMs) this.lapse(now);
    else this.send();
  }

  /**
   * No heartbeat for two periods on a connection that claims to be up: drop it and reconnect. A
   * connection that never heard one (a pooler that keeps LISTEN from working) is not worth
   * reconnecting more than once a minute: each new one is as deaf.
   */
  private lapse(now: number): void {
    this.onLapse();
    if (!this.heardOnConnection && now - this.deafRestartAt < 60_000) {
      this.connectedAt = now;
      return;
    }
    if (!this.heardOnConnection) this.deafRestartAt = now;
    if (now - this.lapseLoggedAt >= 60_000) {
      this.lapseLoggedAt = now;
      if (this.heardOnConnection) {
        this.logger.warn(`revocation listener missed its heartbeat for ${this.lapseMs} ms; reconnecting (strict checks read the database meanwhile)`);
      } else {
        this.logger.error(
          `revocation listener never heard its own heartbeat on this connection: notifications do not reach it. ` +
            `LISTEN does not work through PgBouncer in transaction or statement pooling mode: use revocation.bus: { redis } there, ` +
            `or connect the app to PostgreSQL directly. Until a heartbeat comes back, strict checks read the database.`,
        );
      }
    }
    this.connectedAt = null;
    this.transport.restart();
  }

  private send(): void {
    if (this.sending) return;
    const nonce = randomBytes(9).toString('base64url');
    this.sent.push(nonce);
    if (this.sent.length > 4) this.sent.shift();
    this.sending = true;
    this.transport
      .heartbeat(nonce)
      .catch(() => undefined) // a failed send is a missing heartbeat: the lapse check decides
      .finally(() => (this.sending = false));
  }
}
