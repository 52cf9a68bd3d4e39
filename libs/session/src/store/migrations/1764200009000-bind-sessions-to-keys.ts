import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sessions bound to a key held by the client's device: `key_jkt`, the RFC 7638 thumbprint of the
 * key (a DPoP key for a bearer session, RFC 9449; a DBSC key for a cookie session), and
 * `device_key`, the DBSC public key itself (its refresh proofs carry no key). Null for every
 * other session, so existing rows keep today's behaviour.
 */
export class BindSessionsToKeys1764200009000 implements MigrationInterface {
  name = 'BindSessionsToKeys1764200009000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_sessions" ADD COLUMN "key_jkt" text`);
    await queryRunner.query(`ALTER TABLE "auth_sessions" ADD COLUMN "device_key" text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_sessions" DROP COLUMN "device_key"`);
    await queryRunner.query(`ALTER TABLE "auth_sessions" DROP COLUMN "key_jkt"`);
  }
}
