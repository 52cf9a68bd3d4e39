import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Rate-limit state (`SessionRateLimiter`), one row per key. Register it beside `SessionEntity`
 * (`sessionEntities` holds both); the migrations create it, and it declares what they create so
 * TypeORM's schema diff stays empty.
 */
@Entity({ name: 'auth_rate_limits' })
@Index('auth_rate_limits_tat_us_idx', ['tatUs'])
export class SessionRateLimitEntity {
  /** HMAC-SHA-256 of the limit's key (an address, a session id, an app's own key), base64url. */
  @PrimaryColumn('text', { primaryKeyConstraintName: 'auth_rate_limits_pkey' })
  key!: string;

  /** The key's theoretical arrival time (GCRA), in microseconds since the epoch. */
  @Column('bigint', { name: 'tat_us' })
  tatUs!: string;
}
