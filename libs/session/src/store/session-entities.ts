import { SessionEntity } from './session.entity';
import { SessionRateLimitEntity } from './rate-limit.entity';

/** The library's entities: add them to your DataSource's `entities` (`[...sessionEntities, User]`). */
export const sessionEntities = [SessionEntity, SessionRateLimitEntity];
