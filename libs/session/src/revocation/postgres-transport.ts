import { Logger } from '@nestjs/common';
import { Client, type ClientConfig } from 'pg';
import type { DataSource } from 'typeorm';
import { backoffDelay } from './backoff';
import { REVOCATION_CHANNEL, type RevocationTransport } from './revocation-message';

/**
 * Postgres LISTEN/NOTIFY: no infrastructure beyond the database. Listens on a dedicated
 * connection (not one of the pool's), reconnects with backoff, and reports each reconnection so
 * the cache can be cleared (notifications sent while it was away are lost). Does not work
 * through PgBouncer in transaction mode: use the Redis transport there.
 */
export class PostgresRevocationTransport implements RevocationTransport {
  private readonly logger = new Logger('SessionRevocation');
  private client?: Client;
  private closed = false;
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  /** The current client has connected and runs LISTEN; cleared as soon as it errors or ends. */
  private listening = false;

  constructor(private readonly dataSource: DataSource) {}

  start(onMessage: (payload: string) => void, onReconnect: () => void): void {
    void this.connect(onMessage, onReconnect);
  }

  async publish(payload: string): Promise<void> {
    await this.dataSource.query('SELECT pg_notify($1, $2)', [REVOCATION_CHANNEL, payload]);
  }

  isConnected(): boolean {
    return this.listening;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listening = false;
    clearTimeout(this.timer);
    await this.client?.end().catch(() => undefined);
  }

  private async connect(onMessage: (payload: string) => void, onReconnect: () => void): Promise<void> {
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
      this.listening = false;
      client.removeAllListeners();
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
      const delay = backoffDelay(this.attempt++);
      this.timer = setTimeout(() => void this.connect(onMessage, onReconnect), delay);
    };
    this.client = client;
    client.on('error', () => retry());
    client.on('end', () => retry());
    client.on('notification', (n) => {
      if (n.channel === REVOCATION_CHANNEL && n.payload) onMessage(n.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${REVOCATION_CHANNEL}`);
      // Unless this client already failed (and `retry` moved on) while LISTEN was answered.
      this.listening = this.client === client;
      if (this.attempt > 0) this.logger.log('revocation listener reconnected; session cache cleared');
      this.attempt = 0;
      onReconnect();
    } catch {
      this.logger.warn('revocation listener cannot connect; retrying (the cache TTL bounds revocation meanwhile)');
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
