import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Note } from '../notes/note.entity';
import { User } from '../users/user.entity';
import { StatsController } from './stats.controller';

/** The machine-to-machine corner of the sample: `GET /stats`, for an admin's session or a service's API key. */
@Module({ imports: [TypeOrmModule.forFeature([User, Note])], controllers: [StatsController] })
export class ServiceModule {}
