import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Shared rate-limit state (refresh per address and per session, and any limit the app adds
 * through `SessionRateLimiter`): one row per key, keys stored as an HMAC. The index serves the
 * cleanup, which deletes keys whose state is back to fresh.
 */
export class CreateRateLimits1764200005000 implements MigrationInterface {
  name = 'CreateRateLimits1764200005000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "auth_rate_limits" ("key" text NOT NULL, "tat_us" bigint NOT NULL, CONSTRAINT "auth_rate_limits_pkey" PRIMARY KEY ("key"))`);
    await queryRunner.query(`CREATE INDEX "auth_rate_limits_tat_us_idx" ON "auth_rate_limits" ("tat_us")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "auth_rate_limits"`);
  }
}
