import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The sample's audit table: each user's security events, read back by GET /me/security-events. */
export class CreateSecurityEvents1764200009000 implements MigrationInterface {
  name = 'CreateSecurityEvents1764200009000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "security_events" (
        "id" bigserial PRIMARY KEY,
        "user_id" text NOT NULL,
        "session_id" uuid,
        "event" text NOT NULL,
        "detail" text,
        "at" timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "security_events_user_idx" ON "security_events" ("user_id", "at" DESC)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "security_events"`);
  }
}
