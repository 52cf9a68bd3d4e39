import type { MigrationInterface } from 'typeorm';
import { CreateAuthSessions1764200000000 } from './1764200000000-create-auth-sessions';
import { IndexSessionsByEnd1764200002000 } from './1764200002000-index-sessions-by-end';
import { RecordUserIdType1764200003000 } from './1764200003000-record-user-id-type';
import { CountGraceHits1764200004000 } from './1764200004000-count-grace-hits';
import { CreateRateLimits1764200005000 } from './1764200005000-create-rate-limits';
import { RecordAuthenticationTime1764200006000 } from './1764200006000-record-authentication-time';
import { RecordSessionProfile1764200007000 } from './1764200007000-record-session-profile';
import { IndexOpenSessionsByEnd1764200008000 } from './1764200008000-index-open-sessions-by-end';
import { BindSessionsToKeys1764200009000 } from './1764200009000-bind-sessions-to-keys';
import { KeepRefreshPaceInSession1764200010000 } from './1764200010000-keep-refresh-pace-in-session';

/** The library's migrations, in order. Add them to your DataSource's `migrations`. */
// Typed as migration classes: each class's name is TypeORM's record of it, not an API.
export const sessionMigrations: Array<new () => MigrationInterface> = [CreateAuthSessions1764200000000, IndexSessionsByEnd1764200002000, RecordUserIdType1764200003000, CountGraceHits1764200004000, CreateRateLimits1764200005000, RecordAuthenticationTime1764200006000, RecordSessionProfile1764200007000, IndexOpenSessionsByEnd1764200008000, BindSessionsToKeys1764200009000, KeepRefreshPaceInSession1764200010000];
export { CreateAuthSessions1764200000000, IndexSessionsByEnd1764200002000, RecordUserIdType1764200003000, CountGraceHits1764200004000, CreateRateLimits1764200005000, RecordAuthenticationTime1764200006000, RecordSessionProfile1764200007000, IndexOpenSessionsByEnd1764200008000, BindSessionsToKeys1764200009000, KeepRefreshPaceInSession1764200010000 };
