import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A session's own lifetime profile, so every refresh applies the one it was started with:
 * `idle_timeout_ms` (null: the app's `idleTimeout`) and `persistent` (false: "remember me" was not
 * asked for, so its cookies end with the browser session). Existing rows keep today's behaviour.
 */
export class RecordSessionProfile1764200007000 implements MigrationInterface {
  name = 'RecordSessionProfile1764200007000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_sessions" ADD COLUMN "idle_timeout_ms" bigint`);
    await queryRunner.query(`ALTER TABLE "auth_sessions" ADD COLUMN "persistent" boolean NOT NULL DEFAULT true`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_sessions" DROP COLUMN "persistent"`);
    await queryRunner.query(`ALTER TABLE "auth_sessions" DROP COLUMN "idle_timeout_ms"`);
  }
}
