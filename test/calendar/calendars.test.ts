import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import type { Db } from '../../server/db/database.ts';
import { openTestDb } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { simpleEvent } from './helpers.ts';

let server: TestServer;
let db: Db;
let alice: DmciClient;
let bob: DmciClient;

beforeAll(async () => {
  server = await startTestServer();
  db = openTestDb(server.databaseUrl);
  await server.createAccount('alice@example.com');
  await server.createAccount('bob@example.com');
  alice = await server.connect('alice@example.com');
  bob = await server.connect('bob@example.com');
});
afterAll(async () => {
  await db.destroy();
  await server.stop();
});

describe('calendars', () => {
  it('gives every new account a default calendar that is its own sync scope', async () => {
    const { list, state } = await alice.request('Calendar/get', {});
    expect(list).toHaveLength(1);
    const [calendar] = list;
    expect(calendar).toMatchObject({ name: 'Calendar', isDefault: true, owner: { email: 'alice@example.com' }, myRights: { right: 'owner', mayReadPrivate: true }, shareWith: {} });
    expect(calendar!.scope).toBe(`cal:${calendar!.id}`);
    expect(calendar!.state).toBe('0');
    expect(Number(state)).toBeGreaterThan(0);
    expect(await db.selectFrom('sync_scopes').select('id').where('id', '=', calendar!.scope).executeTakeFirst()).toBeDefined();
  });

  it('creates, renames and destroys calendars, and refuses to destroy the default one', async () => {
    const start = (await alice.request('Calendar/changes', {})).newState;
    const created = await alice.request('Calendar/set', { create: { w: { name: 'Work', color: '#ff0000' } } });
    const work = created.created.w!;
    expect(work).toMatchObject({ name: 'Work', color: '#ff0000', isDefault: false });
    expect(created.newState).not.toBe(created.oldState);

    await alice.request('CalendarEvent/set', { calendarId: work.id, create: { e: { ics: simpleEvent() } } });
    const renamed = await alice.request('Calendar/set', { update: { [work.id]: { name: 'Office', description: 'day job' } } });
    expect(renamed.updated[work.id]).toMatchObject({ name: 'Office', description: 'day job' });

    const changes = await alice.request('Calendar/changes', { sinceState: start });
    expect(changes.created.map((c) => c.name)).toEqual(['Office']);

    const defaultId = (await alice.request('Calendar/get', {})).list.find((c) => c.isDefault)!.id;
    const refused = await alice.request('Calendar/set', { destroy: [defaultId] });
    expect(refused.notDestroyed[defaultId]!.code).toBe('FORBIDDEN');

    const destroyed = await alice.request('Calendar/set', { destroy: [work.id] });
    expect(destroyed.destroyed).toEqual([work.id]);
    expect(await db.selectFrom('calendar_events').select('id').where('calendar_id', '=', work.id).execute()).toEqual([]);
    const after = await alice.request('Calendar/changes', { sinceState: renamed.newState });
    expect(after.destroyed).toEqual([work.id]);
    await expect(alice.request('CalendarEvent/get', { calendarId: work.id, ids: [work.id] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('shares a calendar: the grantee sees it arrive, change and go in its own Calendar/changes', async () => {
    const team = (await alice.request('Calendar/set', { create: { t: { name: 'Team' } } })).created.t!;
    const bobStart = (await bob.request('Calendar/changes', {})).newState;

    const shared = await alice.request('Calendar/set', { update: { [team.id]: { shareWith: { 'bob@example.com': 'write' } } } });
    expect(shared.updated[team.id]!.shareWith).toEqual({ 'bob@example.com': { right: 'write', delegate: false, privateAccess: false, grantee: 'account' } });
    const arrived = await bob.request('Calendar/changes', { sinceState: bobStart });
    expect(arrived.created).toHaveLength(1);
    expect(arrived.created[0]).toMatchObject({ id: team.id, name: 'Team', myRights: { right: 'write', mayReadPrivate: false }, shareWith: null, owner: { email: 'alice@example.com' } });

    // A writer may write events but not change the calendar.
    const write = await bob.request('CalendarEvent/set', { calendarId: team.id, create: { e: { ics: simpleEvent() } } });
    expect(Object.keys(write.created)).toEqual(['e']);
    const notAllowed = await bob.request('Calendar/set', { update: { [team.id]: { name: 'Mine now' } } });
    expect(notAllowed.notUpdated[team.id]!.code).toBe('FORBIDDEN');
    const noDestroy = await bob.request('Calendar/set', { destroy: [team.id] });
    expect(noDestroy.notDestroyed[team.id]!.code).toBe('FORBIDDEN');

    await alice.request('Calendar/set', { update: { [team.id]: { name: 'Team A' } } });
    const renamed = await bob.request('Calendar/changes', { sinceState: arrived.newState });
    expect(renamed.updated.map((c) => c.name)).toEqual(['Team A']);

    await alice.request('Calendar/set', { update: { [team.id]: { shareWith: { 'bob@example.com': null } } } });
    const gone = await bob.request('Calendar/changes', { sinceState: renamed.newState });
    expect(gone.destroyed).toEqual([team.id]);
    await expect(bob.request('CalendarEvent/get', { calendarId: team.id, ids: [team.id] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('reports bad share targets per object', async () => {
    const { list } = await alice.request('Calendar/get', {});
    const id = list[0]!.id;
    const result = await alice.request('Calendar/set', { update: { [id]: { shareWith: { 'nobody@example.com': 'read' } } } });
    expect(result.notUpdated[id]!.code).toBe('NOT_FOUND');
    const self = await alice.request('Calendar/set', { update: { [id]: { shareWith: { 'alice@example.com': 'read' } } } });
    expect(self.notUpdated[id]!.code).toBe('INVALID_ARGUMENTS');
  });
});

describe('push for the calendar list', () => {
  it('pushes calendars:<accountId> changes to its own account only', async () => {
    const listScope = `calendars:${bob.welcome!.account.id}`;
    const sub = await bob.request('Push/subscribe', { scopes: [{ scope: listScope }] });
    expect(sub.subscribed.map((s) => s.scope)).toEqual([listScope]);
    const refused = await alice.request('Push/subscribe', { scopes: [{ scope: listScope }] });
    expect(refused.notSubscribed[listScope]!.code).toBe('FORBIDDEN');

    const received = new Promise<{ scope: string; changes?: unknown }>((resolve) => bob.once('push', resolve));
    const shared = (await alice.request('Calendar/set', { create: { s: { name: 'Shared later' } } })).created.s!;
    await alice.request('Calendar/set', { update: { [shared.id]: { shareWith: { 'bob@example.com': 'read' } } } });
    const push = await received;
    expect(push.scope).toBe(listScope);
    expect((push.changes as { created: Array<{ id: string }> }).created.map((c) => c.id)).toEqual([shared.id]);
  });
});
