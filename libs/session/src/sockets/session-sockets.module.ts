import { Module } from '@nestjs/common';
import { SessionSockets } from './session-sockets';

/**
 * `SessionSockets` for an app's socket.io gateways. Import it in the module that declares the
 * gateway, beside `SessionModule` (which it uses). The library itself never loads socket.io or
 * `@nestjs/websockets`: the app installs them for its gateway.
 *
 * @example
 * @Module({ imports: [SessionSocketsModule], providers: [EventsGateway] })
 * export class EventsModule {}
 */
@Module({
  providers: [SessionSockets],
  exports: [SessionSockets],
})
export class SessionSocketsModule {}
