import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When the session's user last proved who they are (the login, or a re-authentication): what
 * `@RequireFreshSession` measures. Null on sessions from before this migration: they count from
 * their creation, so the migration rewrites no row.
 */
export class RecordAuthenticationTime1764200006000 implements MigrationInterface {
  name = 'RecordAuthenticationTime1764200006000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_sessions" ADD COLUMN "authenticated_at" timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_sessions" DROP COLUMN "authenticated_at"`);
  }
}
