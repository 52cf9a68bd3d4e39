import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Open sessions by when they end: the cleanup's walk over sessions that ran out unnoticed (to
 * mark them ended and say so) reads only these, never the ended rows kept for retention.
 */
export class IndexOpenSessionsByEnd1764200008000 implements MigrationInterface {
  name = 'IndexOpenSessionsByEnd1764200008000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "auth_sessions_open_expires_at_idx" ON "auth_sessions" ("expires_at") WHERE "revoked_at" IS NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "auth_sessions_open_expires_at_idx"`);
  }
}
