/** What instances tell each other: these sessions ended; drop them from your caches. */
export interface RevocationMessage {
  /** The sender, so an instance ignores its own echo. */
  origin: string;
  sessionIds: string[];
}

/** One way to broadcast revocations to every instance (Postgres LISTEN/NOTIFY, Redis pub/sub). */
export interface RevocationTransport {
  /**
   * Starts listening; `onMessage` for each payload on the channel (raw: `RevocationCodec` decides
   * whether it is one of ours), `onReconnect` after every (re)connection.
   */
  start(onMessage: (payload: string) => void, onReconnect: () => void): void;
  publish(payload: string): Promise<void>;
  close(): Promise<void>;
  /** True while the listener is connected and subscribed; false while it is away or reconnecting. */
  isConnected(): boolean;
}

export const REVOCATION_CHANNEL = 'nest_sessions_revocations';
/** NOTIFY payloads stop at 8,000 bytes: 150 UUIDs with JSON framing stay well under. */
export const MAX_IDS_PER_MESSAGE = 150;
