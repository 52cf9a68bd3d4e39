import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `refresh_tat_us`: the session's own refresh limit (its GCRA state, in microseconds), kept in
 * its row when the rate limits are in Postgres, so the rotation's update spends it and no second
 * table is written per refresh. Null until the session first refreshes; a column without a
 * default, so adding it rewrites nothing.
 */
export class KeepRefreshPaceInSession1764200010000 implements MigrationInterface {
  name = 'KeepRefreshPaceInSession1764200010000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_sessions" ADD COLUMN "refresh_tat_us" bigint`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_sessions" DROP COLUMN "refresh_tat_us"`);
  }
}
