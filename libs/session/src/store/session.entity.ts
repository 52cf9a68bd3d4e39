import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One row per login session. Register it in your TypeORM `entities` and run the shipped
 * migrations (`sessionMigrations`). The entity declares everything the migrations create
 * (columns, defaults, indexes, the transport check), so TypeORM's schema diff on a migrated
 * database proposes nothing: `migration:generate` stays clean.
 *
 * `expires_at` is when the session ends or ended: the idle expiry (capped at the absolute
 * expiry), moved back to the revocation time on revoke. Cleanup and listing read only it.
 */
@Entity({ name: 'auth_sessions' })
@Check('auth_sessions_transport_check', `"transport" IN ('cookie', 'bearer')`)
@Index('auth_sessions_user_live_idx', ['userId'], { where: 'revoked_at IS NULL' })
@Index('auth_sessions_expires_at_id_idx', ['expiresAt', 'id'])
@Index('auth_sessions_open_expires_at_idx', ['expiresAt'], { where: 'revoked_at IS NULL' })
export class SessionEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text', { name: 'user_id' })
  userId!: string;

  /** The app gave the user id as a number (it comes back as one). */
  @Column('boolean', { name: 'user_id_numeric', default: false })
  userIdNumeric!: boolean;

  @Column('text')
  transport!: 'cookie' | 'bearer';

  /** HMAC-SHA-256 of the current refresh secret under the server-side pepper. */
  @Column('bytea', { name: 'secret_hash' })
  secretHash!: Buffer;

  /** Earlier secrets' hashes, newest first (the first is the previous one); bounded. */
  @Column('bytea', { name: 'previous_hashes', array: true, default: () => "'{}'" })
  previousHashes!: Buffer[];

  /** When the previous secret was rotated out: the start of its grace window. */
  @Column('timestamptz', { name: 'rotated_at', nullable: true })
  rotatedAt!: Date | null;

  /** Grace-window refreshes with the previous secret since the last rotation (capped). */
  @Column('integer', { name: 'grace_hits', default: 0 })
  graceHits!: number;

  /**
   * The session's refresh limit (GCRA state, microseconds) when the rate limits are in Postgres:
   * the rotation spends it in the same update. Null until the first refresh.
   */
  @Column('bigint', { name: 'refresh_tat_us', nullable: true })
  refreshTatUs!: string | null;

  /** Rotation count; the compare-and-swap version of a refresh. */
  @Column('integer', { default: 0 })
  generation!: number;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  /** This session's idle timeout (its lifetime profile); null: the app's `idleTimeout`. */
  @Column('bigint', { name: 'idle_timeout_ms', nullable: true })
  idleTimeoutMs!: string | null;

  /** False when "remember me" was not asked for: its cookies end with the browser session. */
  @Column('boolean', { default: true })
  persistent!: boolean;

  /** Sessions bound to a device key (DPoP for bearer, DBSC for cookies): its RFC 7638 thumbprint; null otherwise. */
  @Column('text', { name: 'key_jkt', nullable: true })
  keyJkt!: string | null;

  /** DBSC-bound cookie sessions: the device's public key (a JWK, as JSON), which verifies its refresh proofs. */
  @Column('text', { name: 'device_key', nullable: true })
  deviceKey!: string | null;

  /** When the user last proved who they are (login or re-authentication); null: at `created_at`. */
  @Column('timestamptz', { name: 'authenticated_at', nullable: true })
  authenticatedAt!: Date | null;

  @Column('timestamptz', { name: 'last_seen_at' })
  lastSeenAt!: Date;

  @Column('timestamptz', { name: 'expires_at' })
  expiresAt!: Date;

  @Column('timestamptz', { name: 'absolute_expires_at' })
  absoluteExpiresAt!: Date;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt!: Date | null;

  @Column('text', { name: 'revoke_reason', nullable: true })
  revokeReason!: string | null;

  @Column('text', { name: 'user_agent', nullable: true })
  userAgent!: string | null;

  @Column('text', { nullable: true })
  ip!: string | null;
}
