import { SessionEntity } from './session.entity';
import { SessionRateLimitEntity } from './rate-limit.entity';

/** The library's entities: add them to your DataSource's `entities` (`[...sessionEntities, User]`). */
// Typed as plain classes: the entity classes themselves are the library's own business.
export const sessionEntities: Array<new () => object> = [SessionEntity, SessionRateLimitEntity];
