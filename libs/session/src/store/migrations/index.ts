import { CreateAuthSessions1764200000000 } from './1764200000000-create-auth-sessions';

/** The library's migrations, in order. Add them to your DataSource's `migrations`. */
export const sessionMigrations = [CreateAuthSessions1764200000000];
export { CreateAuthSessions1764200000000 };
