import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountService } from '../../server/accounts/account.service.ts';
import { systemActor, type Actor } from '../../server/accounts/actor.ts';
import { PasswordHasher } from '../../server/accounts/password-hasher.ts';
import type { Db } from '../../server/db/database.ts';
import { registerAccountEntries } from '../../server/directory/account-entries.ts';
import { DirectoryService } from '../../server/directory/directory.service.ts';
import { exportLdif } from '../../server/directory/import/ldif-export.ts';
import { ImportFileError, importDirectory, type ImportOptions } from '../../server/directory/import/importer.ts';
import { parseLdif } from '../../server/directory/import/ldif-parser.ts';
import { DomainService } from '../../server/domains/domain.service.ts';
import { readScope } from '../../server/sync/sync-scope.repository.ts';
import { createTestDatabase, dropTestDatabase, openTestDb } from '../helpers/database.ts';
import { runDmci } from '../helpers/run.ts';

/** Bulk import and export of the GAL: CSV and LDIF, idempotent, per-line errors, dry run, strict, round trip. */
let url: string;
let db: Db;
let directory: DirectoryService;
let domainId: string;
let actor: Actor;
let dir: string;

beforeAll(async () => {
  url = await createTestDatabase();
  db = openTestDb(url);
  const accounts = new AccountService(db, new PasswordHasher({ concurrency: 1, memoryKiB: 1024 }), 3_600_000);
  const domains = new DomainService(db);
  registerAccountEntries(accounts, domains);
  domainId = (await domains.create(systemActor, 'imp.test')).id;
  await domains.create(systemActor, 'other.test');
  await accounts.create(systemActor, { email: 'boss@imp.test', displayName: 'The Boss', password: 'long enough password', role: 'user' });
  directory = new DirectoryService(db, () => undefined);
  actor = { kind: 'account', accountId: '00000000-0000-4000-8000-000000000000', role: 'user', domainId, email: 'boss@imp.test' };
  dir = await mkdtemp(join(tmpdir(), 'dmci-import-'));
});
afterAll(async () => {
  await db.destroy();
  await dropTestDatabase(url);
  await rm(dir, { recursive: true, force: true });
});

const csv = (text: string, options: Partial<ImportOptions> = {}) => importDirectory(db, text, { format: 'csv', publish: () => undefined, ...options });
const ldif = (text: string, options: Partial<ImportOptions> = {}) => importDirectory(db, text, { format: 'ldif', publish: () => undefined, ...options });
const find = async (text: string) => (await directory.query(actor, { text, position: 0, limit: 50, calculateTotal: false })).entries;
const galState = async () => (await readScope(db, `gal:${domainId}`))!.modseq;

const PEOPLE = `email,displayName,givenName,surname,title,department,manager,aliases,type,capacity,location,members
ann@imp.test,Ann Archer,Ann,Archer,Engineer,R&D,boss@imp.test,ann.a@imp.test;aa@imp.test,person,,,
ben@imp.test,Ben Brown,Ben,Brown,"Lead, Platform",R&D,ann@imp.test,,contact,,,
boss@imp.test,Ignored Name,,,Chief,Board,,,person,,,
room1@imp.test,Room One,,,,,,,room,8,Floor 1,
team@imp.test,R&D Team,,,,,,,group,,,ann@imp.test;ben@imp.test
`;

describe('CSV import', () => {
  it('creates entries, updates people with accounts, links managers and members (given later in the file)', async () => {
    const report = await csv(PEOPLE);
    expect(report).toMatchObject({ created: 4, updated: 1, unchanged: 0, errors: 0, committed: true });
    const [ann] = await find('ann archer');
    expect(ann).toMatchObject({ email: 'ann@imp.test', title: 'Engineer', department: 'R&D', aliases: ['aa@imp.test', 'ann.a@imp.test'] });
    const [ben] = await find('ben');
    expect(ben!.managerId).toBe(ann!.id);
    expect(ben!.title).toBe('Lead, Platform');
    const [boss] = await find('boss@');
    expect(boss).toMatchObject({ displayName: 'The Boss', title: 'Chief', isAccount: true });
    expect(ann!.managerId).toBe(boss!.id);
    expect((await find('room one'))[0]).toMatchObject({ kind: 'resource', resourceType: 'room', capacity: 8, location: 'Floor 1' });
    expect((await find('r&d team'))[0]!.memberIds!.sort()).toEqual([ann!.id, ben!.id].sort());
  });

  it('is idempotent: the same file again changes nothing and does not move the GAL state', async () => {
    const before = await galState();
    const report = await csv(PEOPLE);
    expect(report).toMatchObject({ created: 0, updated: 0, unchanged: 5, errors: 0 });
    expect(await galState()).toBe(before);
    expect(await find('ann archer')).toHaveLength(1);
  });

  it('updates what changed; an empty cell clears, an absent column is left alone', async () => {
    const report = await csv('email,title\nann@imp.test,\nben@imp.test,Architect\n');
    expect(report).toMatchObject({ updated: 2, unchanged: 0 });
    expect((await find('ann archer'))[0]).toMatchObject({ title: null, department: 'R&D' });
    expect((await find('ben'))[0]!.title).toBe('Architect');
  });

  it('reports bad lines with their line numbers and imports the good ones', async () => {
    const text = [
      'email,displayName,type,capacity,aliases',
      'good1@imp.test,Good One,,,', // line 2
      'not-an-email,Bad Address,,,', // 3
      'good2@imp.test,Good Two,person,5,', // 4: capacity on a person
      '"multi@imp.test","Multi', // 5-6: a quoted cell over two lines
      'Line",,,',
      'clash@imp.test,Clash,,,ann@imp.test', // 7: alias held by Ann
      'good1@imp.test,Again,,,', // 8: the same entry twice
      'nodomain@elsewhere.example,Nowhere,,,', // 9
      'short@imp.test,Short', // 10: too few cells
    ].join('\n');
    const report = await csv(text);
    const errors = report.lines.filter((l) => l.action === 'error').map((l) => [l.line, l.message]);
    expect(errors.map(([line]) => line)).toEqual([3, 4, 7, 8, 9, 10]);
    expect(String(errors[0]![1])).toMatch(/email/);
    expect(String(errors[1]![1])).toMatch(/resource/);
    expect(String(errors[2]![1])).toMatch(/ann@imp.test already names another/);
    expect(String(errors[3]![1])).toMatch(/same entry as line 2/);
    expect(String(errors[4]![1])).toMatch(/--domain/);
    expect(String(errors[5]![1])).toMatch(/2 cells/);
    expect(report).toMatchObject({ created: 2, errors: 6, committed: true });
    expect((await find('multi'))[0]!.displayName).toBe('Multi\nLine');
  });

  it('refuses a file whose header is wrong, naming the column', async () => {
    await expect(csv('email,displayName,favouriteColour\na@imp.test,A,blue\n')).rejects.toThrow(/line 1: unknown column "favouriteColour"/);
    await expect(csv('displayName,title\nA,B\n')).rejects.toThrow(/email or a sourceKey column/);
    await expect(csv('')).rejects.toBeInstanceOf(ImportFileError);
    await expect(csv('email,email\n')).rejects.toThrow(/appears twice/);
  });

  it('refuses an oversized photo on its line', async () => {
    const big = Buffer.alloc(100 * 1024 + 1, 1);
    big.set([0xff, 0xd8, 0xff]);
    const report = await csv(`email,displayName,photo\nphoto@imp.test,Photo,${big.toString('base64')}\nsmall@imp.test,Small Photo,${Buffer.from([0xff, 0xd8, 0xff, 1]).toString('base64')}\n`);
    expect(report.lines[0]).toMatchObject({ line: 2, action: 'error' });
    expect(report.lines[0]!.message).toMatch(/at most 102400 bytes/);
    expect(report.lines[1]).toMatchObject({ line: 3, action: 'create' });
  });

  it('writes nothing on --dry-run but reports exactly what would change', async () => {
    const before = await galState();
    const report = await csv('email,displayName,title\ndry@imp.test,Dry Run,\nben@imp.test,,Dry Title\n', { dryRun: true });
    expect(report).toMatchObject({ created: 1, updated: 1, committed: false });
    expect(await galState()).toBe(before);
    expect(await find('dry run')).toEqual([]);
    expect((await find('ben'))[0]!.title).toBe('Architect');
  });

  it('rolls everything back with --strict when one line fails, and commits when none does', async () => {
    const before = await galState();
    const bad = await csv('email,displayName,capacity\nstrict1@imp.test,Strict One,\nstrict2@imp.test,Strict Two,x\n', { strict: true });
    expect(bad).toMatchObject({ created: 1, errors: 1, committed: false });
    expect(await find('strict')).toEqual([]);
    expect(await galState()).toBe(before);
    const good = await csv('email,displayName\nstrict1@imp.test,Strict One\n', { strict: true });
    expect(good).toMatchObject({ created: 1, committed: true });
    expect(await find('strict')).toHaveLength(1);
  });

  it('rejects members that would make a cycle, on the line that asks for it', async () => {
    await csv('email,displayName,type,members\nouter@imp.test,Outer,group,inner@imp.test\ninner@imp.test,Inner,group,\n');
    const report = await csv('email,displayName,type,members\ninner@imp.test,Inner,group,outer@imp.test\n');
    expect(report.lines[0]).toMatchObject({ line: 2, action: 'error' });
    expect(report.lines[0]!.message).toMatch(/contain itself/);
  });

  it('batches large imports, bumping the GAL scope once per batch', async () => {
    const before = await galState();
    const rows = Array.from({ length: 250 }, (_, i) => `bulk${i}@imp.test,Bulk ${String(i).padStart(3, '0')}`);
    const report = await csv(`email,displayName\n${rows.join('\n')}\n`, { batchSize: 100 });
    expect(report.created).toBe(250);
    expect(await galState()).toBe(before + 3);
  });
});

describe('LDIF import and export', () => {
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]);
  const LDIF = `version: 1
# an OpenLDAP-style export
dn: uid=carl,ou=people,dc=imp,dc=test
objectClass: inetOrgPerson
cn: Carl Carter
givenName: Carl
sn: Carter
mail: carl@imp.test
title: Folded
 Title
userPassword: secret
jpegPhoto:: ${jpeg.toString('base64')}

dn: cn=Dora Dune,ou=people,dc=imp,dc=test
objectClass: inetOrgPerson
cn:: ${Buffer.from('Dóra Düne').toString('base64')}
sn: Düne
manager: uid=carl,ou=people,dc=imp,dc=test

dn: cn=Staff,ou=groups,dc=imp,dc=test
objectClass: groupOfNames
cn: Staff
member: uid=carl,ou=people,dc=imp,dc=test
member: cn=Dora Dune,ou=people,dc=imp,dc=test

dn: cn=Broken,ou=people,dc=imp,dc=test
objectClass: inetOrgPerson
this line has no colon

dn: cn=Room Blue,ou=rooms,dc=imp,dc=test
objectClass: dmciResource
cn: Room Blue
dmciResourceType: room
roomCapacity: many
`;

  it('parses folding, base64, comments and reports bad records with their line numbers', async () => {
    const report = await ldif(LDIF);
    expect(report.lines.filter((l) => l.action === 'error').map((l) => l.line)).toEqual([28, 30]);
    expect(report).toMatchObject({ created: 3, errors: 2, ignored: ['userpassword'] });
    const [carl] = await find('carl');
    expect(carl).toMatchObject({ title: 'FoldedTitle', photo: { type: 'image/jpeg', size: jpeg.length } });
    const [dora] = await find('dóra');
    expect(dora).toMatchObject({ displayName: 'Dóra Düne', email: null, managerId: carl!.id });
    expect((await find('staff'))[0]!.memberIds!.sort()).toEqual([carl!.id, dora!.id].sort());
    // Idempotent with DNs as identity too.
    expect(await ldif(LDIF)).toMatchObject({ created: 0, updated: 0, unchanged: 3 });
  });

  it('refuses malformed LDIF clearly', async () => {
    expect(parseLdif('dn: a=b\nattr:: not base64!\n').errors[0]).toMatchObject({ line: 2, message: expect.stringMatching(/base64/) });
    expect(parseLdif('cn: no dn\n').errors[0]).toMatchObject({ line: 1, message: expect.stringMatching(/dn:/) });
    expect(parseLdif('dn: a=b\nchangetype: modify\nreplace: cn\n').errors[0]!.message).toMatch(/modify is not supported/);
    expect(parseLdif('dn: a=b\njpegPhoto:< file:///etc/passwd\n').errors[0]!.message).toMatch(/not supported/);
    await expect(ldif('# only a comment\n')).rejects.toThrow(/no LDIF records/);
  });

  it('deletes with changetype: delete, but never an account', async () => {
    await csv('email,displayName\ngone@imp.test,Gone Soon\n');
    const report = await ldif('dn: mail=gone@imp.test,ou=gal,dc=imp,dc=test\nchangetype: delete\n\ndn: mail=boss@imp.test,ou=gal,dc=imp,dc=test\nchangetype: delete\n');
    expect(report.lines.map((l) => l.action)).toEqual(['delete', 'error']);
    expect(await find('gone')).toEqual([]);
  });

  it('exports the visible GAL (no hidden entries) as LDIF that re-imports to the same state', async () => {
    await csv('email,displayName,hidden\nsecret@imp.test,Secret Person,true\n');
    // A hidden member and a hidden manager are not in the export, and survive its re-import.
    await csv('email,displayName,type,members,manager\nmixed@imp.test,Mixed List,group,ann@imp.test;secret@imp.test,\nben@imp.test,,,,secret@imp.test\n');
    const adminView = async () => {
      const [list] = await find('mixed list');
      const [ben] = await find('ben brown');
      const admin: Actor = { ...(actor as Extract<Actor, { kind: 'account' }>), role: 'domain_admin' };
      return { members: (await directory.adminGet(admin, list!.id)).memberIds!.length, manager: (await directory.adminGet(admin, ben!.id)).managerId };
    };
    const hiddenBefore = await adminView();
    expect(hiddenBefore.members).toBe(2);
    expect(hiddenBefore.manager).not.toBeNull();
    const exportText = async () => {
      let text = '';
      for await (const chunk of exportLdif(db, [{ id: domainId, name: 'imp.test' }])) text += chunk;
      return text;
    };
    const snapshot = async () => JSON.stringify((await directory.query(actor, { position: 0, limit: 500, calculateTotal: false })).entries.map((e) => ({ ...e, version: 0, updatedAt: '' })));
    const text = await exportText();
    expect(text).not.toMatch(/Secret Person/);
    expect(text).toMatch(/^dn: mail=ann@imp\.test,ou=gal,dc=imp,dc=test$/m);
    expect(text.split('\n').every((line) => line.length <= 76)).toBe(true);
    const file = join(dir, 'gal.ldif');
    await writeFile(file, text);

    const before = await snapshot();
    const again = await ldif(await readFile(file, 'utf8'));
    expect(again).toMatchObject({ created: 0, updated: 0, deleted: 0, errors: 0 });
    expect(await snapshot()).toBe(before);
    expect(await adminView()).toEqual(hiddenBefore);

    // Into a fresh domain under another name: the same entries appear, and a second import changes nothing.
    const renamed = text.replaceAll('imp.test', 'other.test').replaceAll('dc=imp,dc=test', 'dc=other,dc=test');
    const first = await ldif(renamed, { domain: 'other.test' });
    expect(first.errors).toBe(0);
    expect(first.created).toBeGreaterThan(10);
    expect(await ldif(renamed, { domain: 'other.test' })).toMatchObject({ created: 0, updated: 0, errors: 0 });
  });
});

describe('dmci import / export (the CLI)', () => {
  it('prints a dry run per line, exits 1 on a bad line, and exports LDIF to a file', async () => {
    const file = join(dir, 'cli.csv');
    await writeFile(file, 'email,displayName\ncli@imp.test,Cli Person\nbroken,Broken\n');
    const dry = await runDmci(['import', file, '--dry-run'], { env: { DATABASE_URL: url, DMCI_LOG_LEVEL: 'error' } });
    expect(dry.stdout).toMatch(/line 2: create cli@imp\.test/);
    expect(dry.stdout).toMatch(/line 3: error/);
    expect(dry.stdout).toMatch(/created 1, updated 0, unchanged 0, deleted 0, errors 1 \(dry run: nothing was written\)/);
    expect(dry.code).toBe(1);
    expect(await find('cli person')).toEqual([]);

    const real = await runDmci(['import', file], { env: { DATABASE_URL: url, DMCI_LOG_LEVEL: 'error' } });
    expect(real.code).toBe(1);
    expect(real.stdout).toMatch(/the other lines were imported/);
    expect(await find('cli person')).toHaveLength(1);

    const out = join(dir, 'out.ldif');
    const exported = await runDmci(['export', '--ldif', '--domain', 'imp.test', '-o', out], { env: { DATABASE_URL: url, DMCI_LOG_LEVEL: 'error' } });
    expect(exported.code).toBe(0);
    expect(await readFile(out, 'utf8')).toMatch(/^dn: mail=cli@imp\.test,/m);
  });
});
