// A stand-in for an app's own migrations (see test/package/doc-snippets.cjs).
import type { MigrationInterface } from 'typeorm';

export const appMigrations: Array<new () => MigrationInterface> = [];
