import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CsrfGuard, SessionModule, sessionEntities, sessionMigrations } from 'nest-sessions';
import { sampleConfig, type SampleConfig } from './config/sample-config';
import { User } from './users/user.entity';
import { Note } from './notes/note.entity';
import { UsersModule } from './users/users.module';
import { UsersService } from './users/users.service';
import { NotesModule } from './notes/notes.module';
import { MeController } from './me/me.controller';
import { AdminController } from './admin/admin.controller';
import { HealthController } from './health/health.controller';
import { JsonOnlyMiddleware } from './http/json-only.middleware';
import { BenchController } from './bench/bench.controller';
import { WebController } from './web/web.controller';
import { TelemetryFlush } from './telemetry.flush';
import { CreateSampleTables1764200001000 } from './migrations/1764200001000-create-sample-tables';
import { CreateSecurityEvents1764200009000 } from './migrations/1764200009000-create-security-events';
import { SecurityEvent } from './audit/security-event.entity';
import { AuditModule } from './audit/audit.module';
import { SampleGraphQLModule } from './graphql/sample-graphql.module';
import { EventsModule } from './events/events.module';
import { ServiceModule } from './service/service.module';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [sampleConfig] }),
    TypeOrmModule.forRootAsync({
      inject: [sampleConfig.KEY],
      useFactory: (config: SampleConfig) => ({
        type: 'postgres',
        url: config.databaseUrl,
        entities: [...sessionEntities, User, Note, SecurityEvent],
        migrations: [...sessionMigrations, CreateSampleTables1764200001000, CreateSecurityEvents1764200009000],
        migrationsRun: true,
        synchronize: false,
        // TypeORM's query logging prints parameters (token hashes, emails): keep it off.
        logging: false,
        poolSize: config.databasePoolSize,
        extra: {
          // A leaked connection or a hung database becomes a 503, not a hang.
          connectionTimeoutMillis: 5_000,
          statement_timeout: config.databaseStatementTimeoutMs,
          query_timeout: config.databaseStatementTimeoutMs + 1_000,
        },
      }),
    }),
    ScheduleModule.forRoot(),
    TerminusModule.forRoot(),
    UsersModule,
    SessionModule.forRootAsync({
      imports: [UsersModule],
      inject: [sampleConfig.KEY, UsersService],
      // Only what the environment overrides; the rest is the library's defaults.
      useFactory: (config: SampleConfig, users: UsersService) => ({
        ...config.session,
        loadUser: (id: string) => users.findSessionUser(id),
      }),
    }),
    NotesModule,
    AuditModule,
    SampleGraphQLModule,
    EventsModule,
    ServiceModule,
  ],
  controllers: [WebController, MeController, AdminController, HealthController, ...(process.env.BENCH_ROUTES === 'true' ? [BenchController] : [])],
  providers: [{ provide: APP_GUARD, useExisting: CsrfGuard }, TelemetryFlush],
})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonOnlyMiddleware).forRoutes({ path: '*path', method: RequestMethod.ALL });
  }
}
