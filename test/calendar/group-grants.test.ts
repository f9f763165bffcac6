import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import type { Calendar, PushFrame } from '../../protocol/index.ts';
import { importDirectory } from '../../server/directory/import/importer.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendarId, simpleEvent } from './helpers.ts';

/**
 * DESIGN §6: a calendar shared with a GAL group is seen, with that right, by
 * every member, nested groups included; the highest of several grants wins;
 * adding or removing a member, nesting a group or deleting one updates the
 * calendar lists of the people concerned and pushes to their sessions while
 * they are connected. The backstop poll is a minute: pushes come from hints.
 */

let server: TestServer;
let admin: DmciClient;
let alice: DmciClient;
let bob: DmciClient;
let carol: DmciClient;
let calendarId: string;
const entry: Record<string, string> = {};
let team: string;
let outer: string;

/** Follows the account's calendar list and returns the list as its pushes leave it (calendar id → Calendar). */
async function followList(client: DmciClient): Promise<{ list: Map<string, Calendar>; frames: PushFrame[] }> {
  const { account } = await client.request('Session/get', {});
  const scope = `calendars:${account.id}`;
  const first = await client.request('Calendar/changes', {});
  const list = new Map(first.created.map((c) => [c.id, c]));
  const frames: PushFrame[] = [];
  client.on('push', (frame) => {
    if (frame.scope !== scope) return;
    frames.push(frame);
    const changes = frame.changes as { created: Calendar[]; updated: Calendar[]; destroyed: string[] } | undefined;
    for (const c of [...(changes?.created ?? []), ...(changes?.updated ?? [])]) list.set(c.id, c);
    for (const id of changes?.destroyed ?? []) list.delete(id);
  });
  await client.request('Push/subscribe', { scopes: [{ scope, state: first.newState }] });
  return { list, frames };
}

async function setMembers(groupId: string, memberIds: string[]): Promise<void> {
  await admin.request('Admin/directorySetMembers', { id: groupId, memberIds });
}

beforeAll(async () => {
  server = await startTestServer({ DMCI_POLL_INTERVAL_MS: '60000' });
  await server.createAccount('admin@example.com', undefined, 'global_admin');
  for (const name of ['alice', 'bob', 'carol']) await server.createAccount(`${name}@example.com`);
  admin = await server.connect('admin@example.com');
  alice = await server.connect('alice@example.com');
  bob = await server.connect('bob@example.com');
  carol = await server.connect('carol@example.com');
  const { results } = await admin.request('Directory/resolve', { names: ['bob@example.com', 'carol@example.com'] });
  entry.bob = results[0]!.entry!.id;
  entry.carol = results[1]!.entry!.id;
  team = (await admin.request('Admin/directoryCreate', { domain: 'example.com', kind: 'group', fields: { displayName: 'Team', email: 'team@example.com' }, memberIds: [entry.bob] })).entry.id;
  outer = (await admin.request('Admin/directoryCreate', { domain: 'example.com', kind: 'group', fields: { displayName: 'Everyone', email: 'everyone@example.com' }, memberIds: [] })).entry.id;
  calendarId = await defaultCalendarId(alice);
  await alice.request('CalendarEvent/set', { calendarId, create: { a: { ics: simpleEvent({ uid: 'group-visible@test', summary: 'Planning', start: '2026-12-10T09:00:00Z' }) } } });
});
afterAll(() => server.stop());

describe('group grants', () => {
  it('a grant to a group reaches its member at once, with that right', async () => {
    const bobs = await followList(bob);
    const shared = await alice.request('Calendar/set', { update: { [calendarId]: { shareWith: { 'team@example.com': 'details' } } } });
    expect(shared.updated[calendarId]!.shareWith).toEqual({ 'team@example.com': { right: 'details', delegate: false, privateAccess: false, grantee: 'group' } });
    await expect.poll(() => bobs.list.get(calendarId)?.myRights).toEqual({ right: 'details', mayReadPrivate: false });
    const got = await bob.request('CalendarEvent/changes', { calendarId });
    expect(got.created.map((e) => [e.view, e.uid])).toEqual([['details', expect.stringMatching(/^redacted-/)]]);
    expect(got.created[0]!.ics).toContain('SUMMARY:Planning');
  });

  it('a member added while connected gets the calendar pushed; nesting a group reaches its members', async () => {
    const carols = await followList(carol);
    await alice.request('Calendar/set', { update: { [calendarId]: { shareWith: { 'everyone@example.com': 'read' } } } });
    expect(carols.list.has(calendarId)).toBe(false);
    await setMembers(outer, [entry.carol!]);
    await expect.poll(() => carols.list.get(calendarId)?.myRights).toEqual({ right: 'read', mayReadPrivate: false });

    // Bob is in Team (details); nesting Team in Everyone (read) gives him read: the highest grant wins.
    const bobs = await followList(bob);
    await setMembers(outer, [entry.carol!, team]);
    await expect.poll(() => bobs.list.get(calendarId)?.myRights).toEqual({ right: 'read', mayReadPrivate: false });
    const got = await bob.request('CalendarEvent/changes', { calendarId });
    expect(got.created.map((e) => [e.view, e.uid])).toEqual([['full', 'group-visible@test']]);
    const listed = await bob.request('Calendar/get', { ids: [calendarId] });
    expect(listed.list[0]!.myRights.right).toBe('read');
  });

  it('a member following the calendar is moved to its new view when a group grant changes', async () => {
    const { account } = await bob.request('Session/get', {});
    expect(account.email).toBe('bob@example.com');
    const frames: PushFrame[] = [];
    bob.on('push', (frame) => {
      if (frame.scope === `cal:${calendarId}`) frames.push(frame);
    });
    await bob.request('Push/subscribe', { scopes: [{ scope: `cal:${calendarId}` }] });
    // Un-nesting Team leaves Bob with Team's details only: his follower gets a resync mark, then details-level pushes.
    await setMembers(outer, [entry.carol!]);
    await expect.poll(() => frames.some((f) => f.resync)).toBe(true);
    await alice.request('CalendarEvent/set', { calendarId, create: { b: { ics: simpleEvent({ uid: 'after-unnest@test', summary: 'Offsite', start: '2026-12-11T09:00:00Z', extra: 'DESCRIPTION:budget talk' }) } } });
    await expect.poll(() => frames.filter((f) => f.changes).length).toBeGreaterThan(0);
    const pushed = frames.find((f) => f.changes)!.changes as { created: Array<{ view: string; ics: string; uid: string }> };
    expect(pushed.created.map((e) => e.view)).toEqual(['details']);
    expect(JSON.stringify(pushed)).not.toMatch(/budget talk|after-unnest@test/);
    await bob.request('Push/unsubscribe', { scopes: [`cal:${calendarId}`] });
  });

  it('a member removed while connected loses the calendar: list push, and reads refused', async () => {
    const bobs = await followList(bob);
    expect(bobs.list.has(calendarId)).toBe(true);
    await setMembers(team, []);
    await expect.poll(() => bobs.list.has(calendarId)).toBe(false);
    await expect(bob.request('CalendarEvent/get', { calendarId, ids: [calendarId] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(bob.request('CalendarEvent/query', { calendarIds: [calendarId], from: '2026-12-01T00:00:00Z', to: '2026-12-31T00:00:00Z' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('deleting a group takes its grant from every member', async () => {
    const carols = await followList(carol);
    expect(carols.list.has(calendarId)).toBe(true);
    await admin.request('Admin/directoryDelete', { id: outer });
    await expect.poll(() => carols.list.has(calendarId)).toBe(false);
    const owner = await alice.request('Calendar/get', { ids: [calendarId] });
    expect(Object.keys(owner.list[0]!.shareWith!)).toEqual(['team@example.com']);
  });

  it('a GAL import that changes members updates the lists too, batched or in one transaction', async () => {
    const carols = await followList(carol);
    await alice.request('Calendar/set', { update: { [calendarId]: { shareWith: { 'team@example.com': 'read' } } } });
    const publish = (scope: string, modseq: number) => server.app.bus.publish({ kind: 'scope', scope, modseq });
    const csv = (members: string) => `email,displayName,type,members\nteam@example.com,Team,group,${members}\n`;
    for (const strict of [false, true]) {
      const added = await importDirectory(server.app.db, csv('carol@example.com'), { format: 'csv', domain: 'example.com', strict, publish });
      expect(added.errors).toBe(0);
      await expect.poll(() => carols.list.get(calendarId)?.myRights.right).toBe('read');
      await importDirectory(server.app.db, csv(''), { format: 'csv', domain: 'example.com', strict, publish });
      await expect.poll(() => carols.list.has(calendarId)).toBe(false);
    }
  });

  it('refuses a group of another domain and an address that names nothing', async () => {
    await server.createAccount('zed@other.example');
    const other = await admin.request('Admin/directoryCreate', { domain: 'other.example', kind: 'group', fields: { displayName: 'Others', email: 'others@other.example' }, memberIds: [] });
    expect(other.created).toBe(true);
    for (const email of ['others@other.example', 'nobody@example.com']) {
      const result = await alice.request('Calendar/set', { update: { [calendarId]: { shareWith: { [email]: 'read' } } } });
      expect(result.notUpdated[calendarId]!.code).toBe('NOT_FOUND');
    }
  });
});
