import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';

type RedisClass = typeof Redis;
import { requireOptionalPeer } from '../optional-peer';
import { REVOCATION_CHANNEL, type RevocationListener, type RevocationTransport } from './revocation-message';

/**
 * Redis pub/sub, for deployments where LISTEN does not work (PgBouncer in transaction mode).
 * ioredis reconnects on its own; every `ready` after the first clears the cache.
 */
export class RedisRevocationTransport implements RevocationTransport {
  private readonly logger = new Logger('SessionRevocation');
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly heartbeats: string;

  constructor(url: string, origin: string) {
    this.heartbeats = `${REVOCATION_CHANNEL}:heartbeat:${origin}`;
    const loaded = requireOptionalPeer<RedisClass & { default?: RedisClass }>('ioredis', 'revocation.bus: { redis }');
    const RedisClient: RedisClass = loaded.default ?? loaded;
    const options = { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: false, connectionName: 'nest-sessions-revocations' };
    this.publisher = new RedisClient(url, options);
    this.subscriber = new RedisClient(url, { ...options, enableOfflineQueue: true, maxRetriesPerRequest: null });
    for (const client of [this.publisher, this.subscriber]) {
      client.on('error', () => undefined); // reconnection is automatic; errors must not crash the app
    }
  }

  start(listener: RevocationListener): void {
    let first = true;
    this.subscriber.on('ready', () => {
      if (!first) this.logger.log('revocation subscriber reconnected; session cache cleared');
      first = false;
      listener.onConnect();
    });
    this.subscriber.on('close', () => listener.onDisconnect());
    this.subscriber.on('message', (channel: string, payload: string) => {
      if (channel === REVOCATION_CHANNEL) listener.onMessage(payload);
      else if (channel === this.heartbeats) listener.onHeartbeat(payload);
    });
    // ioredis re-subscribes by itself after a reconnection.
    void this.subscriber.subscribe(REVOCATION_CHANNEL, this.heartbeats).catch(() => this.logger.warn('cannot subscribe to Redis yet; retrying'));
  }

  async publish(payload: string): Promise<void> {
    await this.publisher.publish(REVOCATION_CHANNEL, payload);
  }

  async heartbeat(nonce: string): Promise<void> {
    await this.publisher.publish(this.heartbeats, nonce);
  }

  restart(): void {
    // Ends the connection without waiting for QUIT (a frozen one would never answer); ioredis
    // destroys the socket if it has not closed within its disconnectTimeout, then reconnects and re-subscribes.
    this.subscriber.disconnect(true);
  }

  /** The subscriber's connection is up (ioredis re-subscribes as it becomes ready). */
  isConnected(): boolean {
    return this.subscriber.status === 'ready';
  }

  async close(): Promise<void> {
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }
}
