import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `dpop_jkt`: the RFC 7638 thumbprint of the key a DPoP-bound session is bound to (RFC 9449);
 * null for every other session, so existing rows keep today's behaviour.
 */
export class BindSessionsToKeys1764200009000 implements MigrationInterface {
  name = 'BindSessionsToKeys1764200009000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_sessions" ADD COLUMN "dpop_jkt" text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_sessions" DROP COLUMN "dpop_jkt"`);
  }
}
