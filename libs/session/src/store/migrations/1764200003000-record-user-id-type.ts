import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Numeric user ids come back as numbers: the row records whether the app gave a number. */
export class RecordUserIdType1764200003000 implements MigrationInterface {
  name = 'RecordUserIdType1764200003000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_sessions" ADD COLUMN "user_id_numeric" boolean NOT NULL DEFAULT false`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_sessions" DROP COLUMN "user_id_numeric"`);
  }
}
