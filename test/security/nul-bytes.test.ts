import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { importDirectory } from '../../server/directory/import/importer.ts';
import { simpleEvent } from '../calendar/helpers.ts';
import { LdapTestClient } from '../helpers/ldap.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 7 §10: a NUL byte in any text used to reach PostgreSQL (which cannot
 * store it) and come back as INTERNAL with an error log line. Every door
 * now answers INVALID_ARGUMENTS (INVALID_ICALENDAR inside iCalendar text,
 * unwillingToPerform over LDAP) and logs nothing at error level.
 */
let server: TestServer;
let admin: DmciClient;
let ldap: LdapTestClient;

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('admin@nul.test', DEFAULT_PASSWORD, 'global_admin');
  admin = await server.connect('admin@nul.test');
  ldap = new LdapTestClient(`ldap://127.0.0.1:${server.app.ldapPort}`);
});
afterAll(async () => {
  await ldap?.close();
  await server?.stop();
});

let seen = 0;
beforeEach(() => {
  seen = server.logLines().length;
});
/** Error-level lines written since the test began. */
const errorLines = () => server.logLines().slice(seen).filter((l) => l.level === 'error' || l.level === 'fatal');

async function refusal(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => 'accepted',
    (error: { code?: string }) => error.code ?? String(error),
  );
}

it('answers INVALID_ARGUMENTS on the connector door, per object where the method has objects', async () => {
  expect(await refusal(admin.request('Admin/accountCreate', { email: 'zed@nul.test', displayName: 'Z\0ed', password: DEFAULT_PASSWORD }))).toBe('INVALID_ARGUMENTS');
  expect(await refusal(admin.request('Directory/query', { text: 'a\0b' }))).toBe('INVALID_ARGUMENTS');
  expect(await refusal(admin.request('Directory/resolve', { names: ['x\0y@nul.test'] }))).toBe('INVALID_ARGUMENTS');

  const set = await admin.request('Calendar/set', { create: { good: { name: 'Fine' }, bad: { name: 'Bad\0name' } } });
  expect(set.notCreated.bad?.code).toBe('INVALID_ARGUMENTS');
  expect(set.created.good?.name).toBe('Fine');

  const { list } = await admin.request('Calendar/get', {});
  const calendarId = list.find((c) => c.isDefault)!.id;
  const events = await admin.request('CalendarEvent/set', { calendarId, create: { a: { ics: simpleEvent({ summary: 'nul\0here' }) }, b: { ics: simpleEvent() } } });
  expect(events.notCreated.a?.code).toBe('INVALID_ICALENDAR');
  expect(events.created.b).toBeDefined();
  expect(errorLines()).toEqual([]);
});

it('answers the LDAP door without an internal failure', async () => {
  expect((await ldap.bind('admin@nul.test', DEFAULT_PASSWORD)).code).toBe(0);
  for (const filter of ['(cn=a\\00b)', '(mail=a\\00*)', '(description=*\\00*)']) {
    expect((await ldap.search('ou=gal,dc=nul,dc=test', { filter })).code).toBe(0);
  }
  const other = new LdapTestClient(`ldap://127.0.0.1:${server.app.ldapPort}`);
  expect((await other.bind('mail=a\\00b@nul.test,ou=gal,dc=nul,dc=test', 'whatever')).code).toBe(53);
  await other.close();
  expect(errorLines()).toEqual([]);
});

it('reports the line of an import, which the other lines survive', async () => {
  const report = await importDirectory(server.app.db, 'email,displayName,title\nok@nul.test,Okay,Boss\nbad@nul.test,Bad,Ti\0tle\n', { format: 'csv', publish: () => undefined });
  expect(report.created).toBe(1);
  expect(report.errors).toBe(1);
  expect(report.lines.find((l) => l.action === 'error')).toMatchObject({ line: 3, message: expect.stringContaining('NUL') });
  expect(errorLines()).toEqual([]);
});
