import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SecurityEvent } from './security-event.entity';
import { SecurityEventsService } from './security-events.service';
import { SecurityEventsController } from './security-events.controller';

@Module({
  imports: [TypeOrmModule.forFeature([SecurityEvent])],
  controllers: [SecurityEventsController],
  providers: [SecurityEventsService],
  exports: [SecurityEventsService],
})
export class AuditModule {}
