import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Cleanup walks ended sessions in `(expires_at, id)` order from a cursor; a two-column index
 * lets each batch start where the previous one stopped instead of re-walking dead entries.
 */
export class IndexSessionsByEnd1764200002000 implements MigrationInterface {
  name = 'IndexSessionsByEnd1764200002000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "auth_sessions_expires_at_id_idx" ON "auth_sessions" ("expires_at", "id")`);
    await queryRunner.query(`DROP INDEX "auth_sessions_expires_at_idx"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "auth_sessions_expires_at_idx" ON "auth_sessions" ("expires_at")`);
    await queryRunner.query(`DROP INDEX "auth_sessions_expires_at_id_idx"`);
  }
}
