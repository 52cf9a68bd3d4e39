import { Logger } from '@nestjs/common';
import { Client, type ClientConfig } from 'pg';
import type { DataSource } from 'typeorm';
import { backoffDelay } from './backoff';
import { REVOCATION_CHANNEL, heartbeatChannel, type RevocationListener, type RevocationTransport } from './revocation-message';

/**
 * Postgres LISTEN/NOTIFY: no infrastructure beyond the database. Listens on a dedicated
 * connection (not one of the pool's), reconnects with backoff, and reports each reconnection so
 * the cache can be cleared (notifications sent while it was away are lost). Heartbeats go
 * through the pool like revocations, so they prove the whole path. Does not work through
 * PgBouncer in transaction mode (the heartbeat never comes back, and the log says so): use the
 * Redis transport there.
 */
export class PostgresRevocationTransport implements RevocationTransport {
  private readonly logger = new Logger('SessionRevocation');
  private client?: Client;
  private closed = false;
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  /** The current client has connected and runs LISTEN; cleared as soon as it errors or ends. */
  private listening = false;

  private readonly heartbeats: string;
  /** Drops the current client and schedules a reconnection. */
  private drop?: () => void;

  constructor(
    private readonly dataSource: DataSource,
    origin: string,
  ) {
    this.heartbeats = heartbeatChannel(origin);
  }

  start(listener: RevocationListener): void {
    void this.connect(listener);
  }

  async publish(payload: string): Promise<void> {
    await this.dataSource.query('SELECT pg_notify($1, $2)', [REVOCATION_CHANNEL, payload]);
  }

  async heartbeat(nonce: string): Promise<void> {
    await this.dataSource.query('SELECT pg_notify($1, $2)', [this.heartbeats, nonce]);
  }

  restart(): void {
    this.drop?.();
  }

  isConnected(): boolean {
    return this.listening;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listening = false;
    clearTimeout(this.timer);
    const client = this.client;
    if (!client) return;
    // Polite when the server answers, and never waiting longer than a second on one that does not.
    const ended = client.end().catch(() => undefined);
    const timer = setTimeout(() => destroySocket(client), 1_000);
    await ended;
    clearTimeout(timer);
  }

  private async connect(listener: RevocationListener): Promise<void> {
    if (this.closed) return;
    // keepAlive and a connect timeout: a connection that dies silently must still end in an
    // error, so the listener reconnects and clears the cache instead of waiting forever.
    const client = new Client({
      connectionTimeoutMillis: 10_000,
      ...this.connectionConfig(),
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: 'nest-sessions-listener',
    });
    const retry = () => {
      if (this.closed || this.client !== client) return;
      this.client = undefined;
      if (this.listening) listener.onDisconnect();
      this.listening = false;
      client.removeAllListeners();
      client.on('error', () => undefined);
      // A frozen connection never answers a polite end: its socket is destroyed.
      destroySocket(client);
      void client.end().catch(() => undefined);
      const delay = backoffDelay(this.attempt++);
      this.timer = setTimeout(() => void this.connect(listener), delay);
    };
    this.client = client;
    this.drop = retry;
    client.on('error', () => retry());
    client.on('end', () => retry());
    client.on('notification', (n) => {
      if (!n.payload) return;
      if (n.channel === REVOCATION_CHANNEL) listener.onMessage(n.payload);
      else if (n.channel === this.heartbeats) listener.onHeartbeat(n.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${REVOCATION_CHANNEL}; LISTEN ${this.heartbeats}`);
      // Unless this client already failed (and `retry` moved on) while LISTEN was answered.
      if (this.client !== client) return;
      this.listening = true;
      if (this.attempt > 0) this.logger.log('revocation listener reconnected; session cache cleared');
      this.attempt = 0;
      listener.onConnect();
    } catch {
      this.logger.warn('revocation listener cannot connect; retrying (strict checks read the database meanwhile)');
      retry();
    }
  }

  /**
   * The DataSource's own connection settings (its public `options`), so the listener reaches the
   * same database as the app's pool.
   */
  private connectionConfig(): ClientConfig {
    const all = this.dataSource.options as PostgresOptions & { replication?: { master?: PostgresOptions } };
    // With replication, LISTEN and NOTIFY belong on the primary, where the writes go.
    const o: PostgresOptions = { ...all, ...(all.replication?.master ?? {}) };
    const { max: _max, min: _min, ...extra } = all.extra ?? {};
    return {
      ...(o.url ? { connectionString: o.url } : {}),
      ...(o.host !== undefined ? { host: o.host } : {}),
      ...(o.port !== undefined ? { port: o.port } : {}),
      ...(o.username !== undefined ? { user: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password as ClientConfig['password'] } : {}),
      ...(o.database !== undefined ? { database: o.database } : {}),
      ...(o.ssl !== undefined ? { ssl: o.ssl as ClientConfig['ssl'] } : {}),
      ...extra,
    };
  }
}

/** pg's Client has no public way to drop a connection that does not answer. */
function destroySocket(client: Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

interface PostgresOptions {
  url?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: unknown;
  database?: string;
  ssl?: unknown;
  extra?: Record<string, unknown>;
}
