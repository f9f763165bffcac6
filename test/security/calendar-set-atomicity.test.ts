import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 7 §10: Calendar/set is documented as one transaction per object,
 * failures per object. An unforeseen failure of one object (here a database
 * trigger refusing a name) used to fail the whole call with INTERNAL after
 * the objects before it had committed: the client was told nothing happened
 * while half of it had. Now that object alone fails and the answer lists
 * exactly what committed.
 */
let server: TestServer;
let alice: DmciClient;

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('alice@example.com');
  alice = await server.connect('alice@example.com');
  await sql`
    create function refuse_exploding_calendar() returns trigger language plpgsql as $$
    begin
      if new.name = 'explode' then raise exception 'refused by a test trigger'; end if;
      return new;
    end $$`.execute(server.app.db);
  await sql`create trigger refuse_exploding before insert or update on calendars for each row execute function refuse_exploding_calendar()`.execute(server.app.db);
});
afterAll(() => server?.stop());

const names = async () => (await alice.request('Calendar/get', {})).list.map((c) => c.name).sort();

it('reports an unexpected failure for its own object and exactly the objects that committed', async () => {
  const result = await alice.request('Calendar/set', { create: { first: { name: 'First' }, bad: { name: 'explode' }, last: { name: 'Last' } } });
  expect(result.created.first?.name).toBe('First');
  expect(result.created.last?.name).toBe('Last');
  expect(result.notCreated.bad).toMatchObject({ code: 'INTERNAL' });
  expect(await names()).toEqual(['Calendar', 'First', 'Last']);
  expect(server.logLines().some((l) => l.level === 'error' && l.method === 'Calendar/set')).toBe(true);

  const update = await alice.request('Calendar/set', {
    update: { [result.created.first!.id]: { name: 'First renamed' }, [result.created.last!.id]: { name: 'explode' } },
  });
  expect(update.updated[result.created.first!.id]?.name).toBe('First renamed');
  expect(update.notUpdated[result.created.last!.id]).toMatchObject({ code: 'INTERNAL' });
  expect(await names()).toEqual(['Calendar', 'First renamed', 'Last']);
  expect(update.newState).not.toBe(update.oldState);
});
