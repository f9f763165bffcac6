import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createDatabase, type Db } from '../../server/db/database.ts';
import { withDatabase } from '../global-setup.ts';

/**
 * A fresh, migrated database for one test file, cloned from the template the
 * global setup migrated. Returns its URL; `dropTestDatabase` removes it.
 */
export function createTestDatabase(): Promise<string> {
  return createDatabaseFrom(inject('pgTemplate'));
}

/** An empty database (no migrations applied), for tests of the migrations themselves. */
export function createEmptyTestDatabase(): Promise<string> {
  return createDatabaseFrom(null);
}

async function createDatabaseFrom(template: string | null): Promise<string> {
  const adminUrl = inject('pgAdminUrl');
  const name = `dmci_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}${template ? ` template ${template}` : ''}`);
  } finally {
    await admin.end();
  }
  return withDatabase(adminUrl, name);
}

export async function dropTestDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}

/** A kysely handle on a test database, for assertions that read the tables directly. */
export function openTestDb(url: string): Db {
  return createDatabase({ url, poolSize: 4, applicationName: 'dmci-test' }).db;
}
