/** What instances tell each other: these sessions ended; drop them from your caches. */
export interface RevocationMessage {
  /** The sender, so an instance ignores its own echo. */
  origin: string;
  sessionIds: string[];
  /** When the sender encoded it (its clock, ms): set on a decoded message. */
  sentAt?: number;
}

/** What a transport reports to the cache. */
export interface RevocationListener {
  /** A payload on the revocation channel (raw: `RevocationCodec` decides whether it is one of ours). */
  onMessage(payload: string): void;
  /** A heartbeat on this instance's own channel. */
  onHeartbeat(nonce: string): void;
  /** (Re)connected and subscribed: messages sent while away are lost. */
  onConnect(): void;
  /** The listener's connection is gone; it reconnects on its own. */
  onDisconnect(): void;
}

/** One way to broadcast revocations to every instance (Postgres LISTEN/NOTIFY, Redis pub/sub). */
export interface RevocationTransport {
  start(listener: RevocationListener): void;
  publish(payload: string): Promise<void>;
  /** Sends `nonce` to this instance's own heartbeat channel, by the path `publish` takes. */
  heartbeat(nonce: string): Promise<void>;
  /** The listener went deaf: drop its connection and connect again. */
  restart(): void;
  close(): Promise<void>;
  /** True while the listener is connected and subscribed; false while it is away or reconnecting. */
  isConnected(): boolean;
}

export const REVOCATION_CHANNEL = 'nest_sessions_revocations';
/** This instance's heartbeat channel: a plain identifier (LISTEN takes no parameters). */
export function heartbeatChannel(origin: string): string {
  return `nest_sessions_hb_${origin.replace(/[^0-9a-f]/gi, '').toLowerCase()}`;
}
/** NOTIFY payloads stop at 8,000 bytes: 150 UUIDs with JSON framing stay well under. */
export const MAX_IDS_PER_MESSAGE = 150;
