import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SessionEntity, SessionModule, sessionMigrations, type SessionModuleOptions } from 'nest-sessions';
import { User } from './user.entity';
import { UsersService } from './users.service';
import { AuthController } from './auth.controller';
import { MeController } from './me.controller';

@Module({
  imports: [TypeOrmModule.forFeature([User])],
  providers: [UsersService],
  exports: [UsersService],
})
export class UsersModule {}

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL,
      entities: [SessionEntity, User],
      migrations: sessionMigrations,
      migrationsRun: true,
      // The app's own table; a real app would ship a migration for it.
      synchronize: true,
      logging: false,
      poolSize: Number(process.env.DATABASE_POOL_SIZE ?? 10),
    }),
    ScheduleModule.forRoot(),
    UsersModule,
    SessionModule.forRootAsync({
      imports: [UsersModule],
      inject: [UsersService],
      useFactory: (users: UsersService): SessionModuleOptions<number> => ({
        jwtSecret: process.env.JWT_SECRET!,
        sessionSecret: process.env.SESSION_SECRET!,
        loadUser: (id) => users.findSessionUser(id),
        // Redis is an optional peer: this app does not install ioredis.
        revocationBus: process.env.REDIS_URL ? { redis: process.env.REDIS_URL } : 'none',
      }),
    }),
  ],
  controllers: [AuthController, MeController],
})
export class AppModule {}
