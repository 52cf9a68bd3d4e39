import { createServer, connect, type Server, type Socket } from 'node:net';

/** One relayed connection, as a `freeze` predicate sees it. */
export interface RelayedConnection {
  readonly id: number;
  /**
   * The first bytes the client sent (up to 8 KiB), as latin1 text. A Postgres startup packet
   * (no SSL) carries `application_name` in clear; a Redis client's `CLIENT SETNAME` and
   * `SUBSCRIBE` are plain RESP.
   */
  readonly sniffed: string;
  readonly frozen: boolean;
}

const SNIFF_LIMIT = 8 * 1024;

/** The Postgres connection of the library's revocation listener (its startup packet names it). */
export const postgresListener = (c: RelayedConnection) => c.sniffed.includes('nest-sessions-listener');

/**
 * The Redis connection of the library's revocation subscriber: named `nest-sessions-revocations`
 * like the publisher, but only it sends SUBSCRIBE.
 */
export const redisSubscriber = (c: RelayedConnection) => c.sniffed.includes('nest-sessions-revocations') && /SUBSCRIBE/i.test(c.sniffed);

interface Pair extends RelayedConnection {
  id: number;
  sniffed: string;
  frozen: boolean;
  client: Socket;
  upstream: Socket;
  /** One side ended or failed while frozen: the other is torn down on thaw, as a network would once it heals. */
  endedWhileFrozen: boolean;
  /** Chunks read but not forwarded because the pair was frozen. */
  held: Array<[Socket, Buffer]>;
}

/**
 * A TCP relay from a free port on 127.0.0.1 to `target`, for simulating a connection that dies
 * silently: `freeze(predicate)` stops forwarding in both directions for the open connections it
 * matches, without closing either socket (no FIN, no RST: like a network that drops every packet;
 * neither end notices until it sends and waits for an answer). Connections opened after the
 * freeze, including the reconnection of a client that gave up on a frozen one, are forwarded
 * normally. `thaw()` resumes the frozen ones (bytes held back are then delivered, as TCP would
 * after a partition heals; a side that closed meanwhile closes the other).
 */
export class TcpRelay {
  private readonly pairs = new Set<Pair>();
  private nextId = 1;
  /** Every connection ever accepted (closed ones included), for assertions. */
  readonly history: RelayedConnection[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpRelay> {
    let relay!: TcpRelay;
    const server = createServer((client) => relay.accept(client, target));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    relay = new TcpRelay(server, (server.address() as { port: number }).port);
    return relay;
  }

  /** `url` with its host and port replaced by the relay's. */
  url(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /** The open connections (a snapshot). */
  connections(): RelayedConnection[] {
    return [...this.pairs].map(({ id, sniffed, frozen }) => ({ id, sniffed, frozen }));
  }

  /** Freezes the open connections matching `predicate` (all by default); returns how many. */
  freeze(predicate: (c: RelayedConnection) => boolean = () => true): number {
    let n = 0;
    for (const pair of this.pairs) {
      if (pair.frozen || !predicate(pair)) continue;
      pair.frozen = true;
      pair.client.pause();
      pair.upstream.pause();
      n++;
    }
    return n;
  }

  /** Resumes every frozen connection. */
  thaw(): void {
    for (const pair of this.pairs) {
      if (!pair.frozen) continue;
      pair.frozen = false;
      if (pair.endedWhileFrozen) {
        this.teardown(pair);
        continue;
      }
      for (const [socket, chunk] of pair.held.splice(0)) socket.write(chunk);
      pair.client.resume();
      pair.upstream.resume();
    }
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) this.teardown(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    const upstream = connect(target.port, target.host);
    const pair: Pair = { id: this.nextId++, sniffed: '', frozen: false, client, upstream, endedWhileFrozen: false, held: [] };
    this.pairs.add(pair);
    this.history.push(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk: Buffer) => {
      if (pair.sniffed.length < SNIFF_LIMIT) pair.sniffed += chunk.subarray(0, SNIFF_LIMIT - pair.sniffed.length).toString('latin1');
      // A chunk already read when the freeze came is held back too, not forwarded.
      this.forward(pair, upstream, client, chunk);
    });
    upstream.on('data', (chunk: Buffer) => this.forward(pair, client, upstream, chunk));
    const onEnd = () => {
      if (pair.frozen) pair.endedWhileFrozen = true;
      else this.teardown(pair);
    };
    for (const socket of [client, upstream]) {
      socket.on('error', onEnd);
      socket.on('end', onEnd);
      socket.on('close', onEnd);
    }
  }

  /** Writes `chunk` to `to`, or holds it back (in order) until the thaw when the pair is frozen. */
  private forward(pair: Pair, to: Socket, from: Socket, chunk: Buffer): void {
    if (pair.frozen) {
      from.pause();
      pair.held.push([to, chunk]);
      return;
    }
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => !pair.frozen && from.resume());
    }
  }

  private teardown(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
