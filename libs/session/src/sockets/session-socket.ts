import type { IncomingHttpHeaders } from 'node:http';
import { requestSessionOf } from '../http/request-session';
import type { SessionInfo, SessionUser, UserId } from '../session.types';

/**
 * The parts of a socket.io `Socket` the library uses. Structural, so that the library never loads
 * socket.io (an app that has no sockets needs neither it nor `@nestjs/websockets`).
 */
export interface SessionSocket {
  readonly id: string;
  /** socket.io's per-socket store: the library leaves `user` and the session here. */
  data: Record<string, unknown>;
  readonly handshake: {
    headers: IncomingHttpHeaders;
    /**
     * The client's `auth` option: a bearer client sends `{ token }`, and a DPoP-bound one
     * `{ token, dpop }` with a proof for `GET` and the handshake's URL (`https://host/socket.io/`).
     */
    auth?: Record<string, unknown>;
    /** The handshake request's path and query (`/socket.io/?EIO=4&…`). */
    url?: string;
    /** True when the handshake came over TLS to this process. */
    secure?: boolean;
  };
  readonly connected?: boolean;
  /** Sends an event to the client. */
  emit(event: string, ...args: any[]): unknown;
  /** Ends the connection from the server. */
  disconnect(close?: boolean): unknown;
  /** Runs once when the socket disconnects. */
  once(event: 'disconnect', listener: (...args: any[]) => void): unknown;
}

/** socket.io's namespace middleware: `server.use(sockets.middleware())`. */
export type SessionSocketMiddleware = (socket: SessionSocket, next: (error?: Error) => void) => void;

/** The error a refused handshake reaches the client with: socket.io's `connect_error`, `err.data` is the body. */
export interface SessionSocketError extends Error {
  data: { statusCode: number; code: string; message: string };
}

/** Emitted after a successful handshake. */
export const SOCKET_SESSION_EVENT = 'session';
/** Emitted when the socket's session ends, by any path, just before the server disconnects it; the payload is a `SessionEndedPayload`. */
export const SOCKET_SESSION_ENDED_EVENT = 'session.ended';

/**
 * Why a socket's session ended: `revoked` (logout, logout-all, revoked from another device,
 * reuse detection, not-before, a user disabled, a session limit) or `expired` (its idle or
 * absolute timeout). A page can say "signed out on another device" or "your session expired".
 */
export type SessionEndedReason = 'revoked' | 'expired';

/** What `session.ended` carries. */
export interface SessionEndedPayload {
  sessionId: string;
  reason: SessionEndedReason;
}

/** The user a handshake authenticated (what `@CurrentUser()` answers in a message handler), or undefined. */
export function socketUser<Id extends UserId = string>(socket: Pick<SessionSocket, 'data'>): SessionUser<Id> | undefined {
  return socket.data?.user as SessionUser<Id> | undefined;
}

/** The session a handshake authenticated (what `@CurrentSession()` answers in a message handler), or undefined. */
export function socketSession<Id extends UserId = string>(socket: Pick<SessionSocket, 'data'>): SessionInfo<Id> | undefined {
  return requestSessionOf<Id>(socket.data);
}
