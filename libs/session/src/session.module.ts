import { SessionTelemetry } from './telemetry/session-telemetry';
import { Logger, Module, type ConfigurableModuleAsyncOptions, type DynamicModule, type Provider } from '@nestjs/common';
import {
  SessionConfigurableModule,
  MODULE_OPTIONS_TOKEN,
  SESSION_ASYNC_OPTIONS_TYPE,
  SESSION_OPTIONS_TYPE,
} from './session.module-definition';
import { RESOLVED_SESSION_OPTIONS, SESSION_CLEANUP_OPTIONS } from './session.constants';
import { resolveSessionOptions, type ResolvedSessionOptions } from './resolve-options';
import { SESSION_DEFAULTS } from './session.defaults';
import type { SessionModuleExtras, SessionModuleOptions } from './session.options';
import type { UserId } from './session.types';
import { SessionService } from './session.service';
import { SessionStore } from './store/session.store';
import { AccessTokenService } from './tokens/access-token';
import { SessionHttp } from './http/session-http';
import { SessionCredentials } from './http/session-credentials';
import { LoginCsrfGuard } from './guards/login-csrf.guard';
import { sessionDataSourceProvider } from './store/session-data-source.provider';
import { SessionSchemaCheck } from './store/session-schema.check';
import { SessionEvents } from './events/session-events';
import { SessionJwtStrategy } from './guards/jwt.strategy';
import { SessionGuard } from './guards/session.guard';
import { RolesGuard } from './guards/roles.guard';
import { CsrfGuard } from './guards/csrf.guard';
import { createSessionController } from './session.controller';
import { SessionCleanupService } from './cleanup/session-cleanup.service';
import { SessionLiveness } from './revocation/session-liveness';
import { SessionHealthIndicator } from './health/session-health.indicator';
import { SessionRateLimiter } from './rate-limit/session-rate-limiter';
import { SessionAuditLog } from './events/session-audit-log';
import { JwksController } from './http/jwks.controller';
import { FreshSessionGuard } from './guards/fresh-session.guard';
import { DpopProofs } from './dpop/dpop-proofs';
import { DeviceSessions } from './dbsc/device-sessions';
import { createDbscController } from './dbsc/dbsc.controller';

const EXPORTED = [
  SessionService,
  SessionHttp,
  SessionCredentials,
  SessionJwtStrategy,
  SessionGuard,
  FreshSessionGuard,
  RolesGuard,
  CsrfGuard,
  LoginCsrfGuard,
  SessionEvents,
  SessionCleanupService,
  AccessTokenService,
  SessionHealthIndicator,
  SessionRateLimiter,
  DpopProofs,
  SessionTelemetry,
  RESOLVED_SESSION_OPTIONS,
];

/**
 * Secure sessions for a Nest app on its own Postgres (through the app's TypeORM DataSource).
 * Global, so guards and decorators work in every module. It never binds a global guard and
 * never calls `ScheduleModule.forRoot()`: the app decides both.
 *
 * @example
 * SessionModule.forRootAsync({
 *   inject: [ConfigService, UsersService],
 *   useFactory: (config: ConfigService, users: UsersService) => ({
 *     jwtSecret: config.getOrThrow('JWT_SECRET'),
 *     sessionSecret: config.getOrThrow('SESSION_SECRET'),
 *     loadUser: (id) => users.findSessionUser(id),
 *   }),
 * })
 */
@Module({})
export class SessionModule extends SessionConfigurableModule {
  /** `forRoot<number>()` types `loadUser` and the session's user for numeric user ids. */
  static override forRoot<Id extends UserId = any>(options: SessionModuleOptions<Id> & Partial<SessionModuleExtras>): DynamicModule {
    return withProviders(super.forRoot(options as typeof SESSION_OPTIONS_TYPE), options);
  }

  /** `forRootAsync<number>()` likewise, with the options made by a factory, a class or an existing provider. */
  static override forRootAsync<Id extends UserId = any>(
    options: ConfigurableModuleAsyncOptions<SessionModuleOptions<Id>, 'createSessionOptions'> & Partial<SessionModuleExtras>,
  ): DynamicModule {
    return withProviders(super.forRootAsync(options as typeof SESSION_ASYNC_OPTIONS_TYPE), options);
  }
}

function withProviders(definition: DynamicModule, extras: SessionModuleExtras): DynamicModule {
  const routePrefix = extras.routePrefix ?? SESSION_DEFAULTS.routePrefix;
  const resolved: Provider = {
    provide: RESOLVED_SESSION_OPTIONS,
    inject: [MODULE_OPTIONS_TOKEN],
    useFactory: (options: SessionModuleOptions) => warnAtStart(resolveSessionOptions(options, { routePrefix })),
  };
  return {
    ...definition,
    global: true,
    controllers: extras.controller === false ? [] : [createSessionController(routePrefix), createDbscController(routePrefix), JwksController],
    providers: [
      ...(definition.providers ?? []),
      resolved,
      { provide: SESSION_CLEANUP_OPTIONS, inject: [RESOLVED_SESSION_OPTIONS], useFactory: (o: ResolvedSessionOptions) => o.cleanup },
      sessionDataSourceProvider(extras.dataSource),
      SessionSchemaCheck,
      SessionStore,
      AccessTokenService,
      SessionHttp,
      SessionCredentials,
      LoginCsrfGuard,
      SessionEvents,
      SessionTelemetry,
      SessionService,
      SessionJwtStrategy,
      SessionGuard,
      FreshSessionGuard,
      RolesGuard,
      CsrfGuard,
      SessionCleanupService,
      SessionLiveness,
      SessionHealthIndicator,
      SessionRateLimiter,
      DpopProofs,
      DeviceSessions,
      SessionAuditLog,
    ],
    exports: [...(definition.exports ?? []), ...EXPORTED],
  };
}

/** Settings weaker than they look (a migration left on, DPoP trusting the Host header): said at every start. */
function warnAtStart(resolved: ResolvedSessionOptions): ResolvedSessionOptions {
  const logger = new Logger('SessionModule');
  if (resolved.dpop !== 'off' && resolved.csrf.appOrigin === null) {
    logger.warn('dpop is on without csrf.appOrigin: a proof\'s htu is checked against the Host the request names; set csrf.appOrigin to the public origin in production');
  }
  if (resolved.keys.mixed) {
    logger.warn('hs256Migration: HS256 keys verify beside asymmetric ones; remove them and hs256Migration once their tokens have expired');
  }
  return resolved;
}
