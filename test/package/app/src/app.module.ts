import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CsrfGuard, SessionModule, sessionEntities, sessionMigrations, type SessionModuleOptions } from 'nest-sessions';
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

/** docs/getting-started.md's wiring, as a whole app (numeric user ids). */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }),
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        type: 'postgres',
        url: config.getOrThrow<string>('DATABASE_URL'),
        entities: [...sessionEntities, User],
        migrations: [...sessionMigrations],
        migrationsRun: true,
        // The app's own users table; a real app ships a migration for it (getting-started.md's appMigrations).
        synchronize: true,
        logging: false,
        poolSize: Number(config.get('DATABASE_POOL_SIZE') ?? 10),
        extra: { statement_timeout: 2000, connectionTimeoutMillis: 5000 },
      }),
    }),
    ScheduleModule.forRoot(),
    UsersModule,
    SessionModule.forRootAsync({
      imports: [UsersModule],
      inject: [ConfigService, UsersService],
      useFactory: (config: ConfigService, users: UsersService): SessionModuleOptions<number> => ({
        jwtSecret: config.getOrThrow<string>('JWT_SECRET'),
        sessionSecret: config.getOrThrow<string>('SESSION_SECRET'),
        loadUser: (id) => users.findSessionUser(id),
        // Redis is an optional peer: this app does not install ioredis.
        revocation: { bus: config.get('REDIS_URL') ? { redis: config.get<string>('REDIS_URL')! } : 'none' },
      }),
    }),
  ],
  controllers: [AuthController, MeController],
  providers: [{ provide: APP_GUARD, useExisting: CsrfGuard }],
})
export class AppModule {}
