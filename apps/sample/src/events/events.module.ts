import { Module } from '@nestjs/common';
import { SessionSocketsModule } from 'nest-sessions';
import { EventsGateway } from './events.gateway';

/** The sample's socket.io gateway (namespace `/events`). */
@Module({ imports: [SessionSocketsModule], providers: [EventsGateway] })
export class EventsModule {}
