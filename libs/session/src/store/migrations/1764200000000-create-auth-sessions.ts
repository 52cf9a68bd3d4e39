import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Creates `auth_sessions` with its lookup-by-user and by-expiry indexes. */
export class CreateAuthSessions1764200000000 implements MigrationInterface {
  name = 'CreateAuthSessions1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "auth_sessions" (
        "id" uuid PRIMARY KEY,
        "user_id" text NOT NULL,
        "transport" text NOT NULL CHECK ("transport" IN ('cookie', 'bearer')),
        "secret_hash" bytea NOT NULL,
        "previous_hashes" bytea[] NOT NULL DEFAULT '{}',
        "rotated_at" timestamptz,
        "generation" integer NOT NULL DEFAULT 0,
        "created_at" timestamptz NOT NULL,
        "last_seen_at" timestamptz NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "absolute_expires_at" timestamptz NOT NULL,
        "revoked_at" timestamptz,
        "revoke_reason" text,
        "user_agent" text,
        "ip" text
      )`);
    await queryRunner.query(
      `CREATE INDEX "auth_sessions_user_live_idx" ON "auth_sessions" ("user_id") WHERE "revoked_at" IS NULL`,
    );
    await queryRunner.query(`CREATE INDEX "auth_sessions_expires_at_idx" ON "auth_sessions" ("expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "auth_sessions"`);
  }
}
