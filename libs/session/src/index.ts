export { SessionModule } from './session.module';
export type { SessionModuleOptions, SessionModuleExtras, SessionCookieOptions, SessionCsrfOptions, SessionCleanupOptions, SessionRateLimitOptions } from './session.options';
export { SESSION_DEFAULTS } from './session.defaults';
export { SESSION_MODULE_OPTIONS, type SessionOptionsFactory } from './session.module-definition';
export { SessionService } from './session.service';
export type { IssueClient, RefreshClient, SessionGrant, PresentedRefreshToken } from './session-grant';
export type { AuthenticatedSession } from './authenticated-session';
export { SessionHttp, type SessionGrantBody } from './http/session-http';
export { SessionExceptionFilter } from './http/session-exception.filter';
export { SessionCredentials } from './http/session-credentials';
export type { AccessTokenSource } from './http/access-token-source';
export type { RequestLike, ResponseLike } from './http/http-types';
export { SessionGuard, type GuardedRequest } from './guards/session.guard';
export { FreshSessionGuard } from './guards/fresh-session.guard';
export { RequireFreshSession } from './decorators/require-fresh-session.decorator';
export { RolesGuard } from './guards/roles.guard';
export { AnyGuard } from './guards/any-guard';
export { CsrfGuard } from './guards/csrf.guard';
export { LoginCsrfGuard } from './guards/login-csrf.guard';
export { CurrentUser } from './decorators/current-user.decorator';
export { CurrentSession } from './decorators/current-session.decorator';
export { Public } from './decorators/public.decorator';
export { Roles } from './decorators/roles.decorator';
export { SkipCsrf } from './decorators/skip-csrf.decorator';
export { LoginRoute } from './decorators/login-route.decorator';
export { SessionEvents, SESSION_EVENT_NAMES } from './events/session-events';
export type { SessionEvent, SessionEventMap, RefreshFailedEvent, CsrfRejectedEvent } from './events/session-events';
export { SessionCleanupService, type CleanupReport } from './cleanup/session-cleanup.service';
export { SessionCleanupModule } from './cleanup/session-cleanup.module';
export { SessionHealthIndicator } from './health/session-health.indicator';
export { SessionRateLimiter } from './rate-limit/session-rate-limiter';
export { SessionSockets } from './sockets/session-sockets';
export { SessionSocketsModule } from './sockets/session-sockets.module';
export { socketUser, socketSession, SOCKET_SESSION_EVENT, SOCKET_SESSION_ENDED_EVENT } from './sockets/session-socket';
export type { SessionSocket, SessionSocketMiddleware, SessionSocketError, SessionEndedPayload, SessionEndedReason } from './sockets/session-socket';
export { MemoryRateLimitStore } from './rate-limit/memory-rate-limit.store';
export { gcraStep, emissionIntervalUs, type RateLimitRule, type RateLimitVerdict } from './rate-limit/gcra';
export type { SessionRateLimitStore } from './rate-limit/session-rate-limit-store';
export type { RateLimit } from './rate-limit/rate-limit-options';
export type { SessionHealthResult, SessionDatabaseHealth, SessionRevocationListenerHealth, SessionPingCheckOptions } from './health/session-health.indicator';
export { SESSION_COOKIE_SCHEME, SESSION_BEARER_SCHEME, addSessionSecurity, sessionSecuritySchemes, sessionErrorSchema } from './openapi/session-openapi';
export type { OpenApiSchema, SessionSecurityScheme, SessionSecurityOptions, SecuritySchemeBuilder } from './openapi/session-openapi';
export { ApiSessionAuth } from './openapi/api-docs';
export { SessionEntity } from './store/session.entity';
export { SessionRateLimitEntity } from './store/rate-limit.entity';
export { sessionEntities } from './store/session-entities';
export {
  sessionMigrations,
  CreateAuthSessions1764200000000,
  IndexSessionsByEnd1764200002000,
  RecordUserIdType1764200003000,
  CountGraceHits1764200004000,
  CreateRateLimits1764200005000,
  RecordAuthenticationTime1764200006000,
  RecordSessionProfile1764200007000,
  IndexOpenSessionsByEnd1764200008000,
} from './store/migrations';
export type { SessionUser, SessionInfo, SessionTransport, SessionListItem, RevokeReason, UserId } from './session.types';
export * from './errors/session-error';
export { SessionConfigError } from './errors/session-config-error';
export { assertStrongSecret } from './secret-material';
export { SessionGraphQLError, type SessionGraphQLErrorExtensions } from './graphql/session-graphql-error';
export { parseDuration, type Duration } from './duration';
export type { SigningKey, SigningAlgorithm } from './tokens/signing-keys';
