import { OnGatewayConnection, OnGatewayInit, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { CurrentSession, CurrentUser, SessionSockets, type SessionInfo, type SessionUser } from 'nest-sessions';

/**
 * socket.io at its default path, namespace `/events`. The handshake authenticates
 * with the access cookie (browsers) or `auth: { token }` (other clients); a refused one reaches
 * the client as `connect_error` with `err.data.code`. After the handshake the server emits
 * `session` with `{ sessionId }`; when the session ends by any path it emits `session.ended` and
 * disconnects.
 */
@WebSocketGateway({ namespace: '/events' })
export class EventsGateway implements OnGatewayInit, OnGatewayConnection {
  constructor(private readonly sockets: SessionSockets) {}

  afterInit(server: Namespace): void {
    server.use(this.sockets.middleware());
  }

  handleConnection(socket: Socket): void {
    this.sockets.bind(socket);
  }

  /** The socket's user and session, as `GET /whoami`: roles as of the last re-read (every access-token lifetime). */
  @SubscribeMessage('whoami')
  whoami(@CurrentUser() user: SessionUser, @CurrentSession() session: SessionInfo) {
    return { id: user.id, roles: user.roles, sessionId: session.id };
  }
}
