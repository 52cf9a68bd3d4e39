import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Grace-window refreshes are counted per generation, so the previous secret mints only a few. */
export class CountGraceHits1764200004000 implements MigrationInterface {
  name = 'CountGraceHits1764200004000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_sessions" ADD COLUMN "grace_hits" integer NOT NULL DEFAULT 0`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_sessions" DROP COLUMN "grace_hits"`);
  }
}
