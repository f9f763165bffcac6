import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import type { PushFrame } from '../../protocol/index.ts';
import { DmciError } from '../../server/errors.ts';
import { bumpScopes, createScope } from '../../server/sync/sync-scope.repository.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * The push hub with a feed of its own ("test:" scopes whose changes are the
 * list of modseqs in the range), so the mechanism is tested apart from any
 * feature that uses it.
 */
let server: TestServer;
const loads: Array<{ from: number; to: number; viewKey: string }> = [];

beforeAll(async () => {
  server = await startTestServer({ DMCI_POLL_INTERVAL_MS: '200' });
  await server.createAccount('alice@example.com');
  await server.createAccount('bob@example.com');
  server.app.pushHub.registerFeed('test', {
    async authorize(session, scopeId) {
      if (scopeId.endsWith(':private') && session.account.email !== 'alice@example.com') throw new DmciError('FORBIDDEN', 'not yours');
      return session.account.email === 'alice@example.com' ? 'owner' : 'reader';
    },
    async loadChanges(_scopeId, from, to, viewKey) {
      loads.push({ from, to, viewKey });
      return { modseqs: Array.from({ length: to - from }, (_, i) => from + i + 1), viewKey };
    },
  });
  for (const id of ['test:shared', 'test:private', 'test:lost']) await createScope(server.app.db, id);
});
afterAll(() => server.stop());

async function commit(scope: string, publish = true): Promise<number> {
  const modseq = (await server.app.db.transaction().execute((trx) => bumpScopes(trx, [scope]))).get(scope)!;
  if (publish) server.app.bus.publish({ kind: 'scope', scope, modseq });
  return modseq;
}

function nextPush(client: DmciClient, scope: string): Promise<PushFrame> {
  return new Promise((resolve) => {
    const onPush = (frame: PushFrame) => {
      if (frame.scope !== scope) return;
      client.off('push', onPush);
      resolve(frame);
    };
    client.on('push', onPush);
  });
}

describe('the push hub', () => {
  it('sends one committed change to every follower, with old and new state, per view level', async () => {
    const alice = await server.connect('alice@example.com');
    const bob = await server.connect('bob@example.com');
    const subscribed = await alice.request('Push/subscribe', { scopes: [{ scope: 'test:shared' }] });
    await bob.request('Push/subscribe', { scopes: [{ scope: 'test:shared' }] });
    const state = Number(subscribed.subscribed[0]!.state);
    const [a, b] = [nextPush(alice, 'test:shared'), nextPush(bob, 'test:shared')];
    const modseq = await commit('test:shared');
    expect(modseq).toBe(state + 1);
    expect(await a).toMatchObject({ oldState: String(state), newState: String(modseq), changes: { modseqs: [modseq], viewKey: 'owner' } });
    expect(await b).toMatchObject({ oldState: String(state), newState: String(modseq), changes: { modseqs: [modseq], viewKey: 'reader' } });
  });

  it('catches a follower up from the state it names', async () => {
    const first = await commit('test:shared');
    await commit('test:shared');
    const alice = await server.connect('alice@example.com');
    const push = nextPush(alice, 'test:shared');
    await alice.request('Push/subscribe', { scopes: [{ scope: 'test:shared', state: String(first - 1) }] });
    expect((await push).changes).toMatchObject({ modseqs: [first, first + 1] });
  });

  it('refuses scopes the session may not follow, per scope, and follows the rest', async () => {
    const bob = await server.connect('bob@example.com');
    const result = await bob.request('Push/subscribe', { scopes: [{ scope: 'test:private' }, { scope: 'test:shared' }, { scope: 'nope:x' }] });
    expect(result.subscribed.map((s) => s.scope)).toEqual(['test:shared']);
    expect(result.notSubscribed['test:private']).toMatchObject({ code: 'FORBIDDEN' });
    expect(result.notSubscribed['nope:x']).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('delivers a commit whose hint was lost, through the backstop poll', async () => {
    const alice = await server.connect('alice@example.com');
    await alice.request('Push/subscribe', { scopes: [{ scope: 'test:lost' }] });
    const push = nextPush(alice, 'test:lost');
    const modseq = await commit('test:lost', false);
    expect(await push).toMatchObject({ newState: String(modseq) });
  });

  it('stops pushing after unsubscribe and after the session closes', async () => {
    const alice = await server.connect('alice@example.com');
    await alice.request('Push/subscribe', { scopes: [{ scope: 'test:shared' }] });
    await alice.request('Push/unsubscribe', { scopes: ['test:shared'] });
    let pushed = false;
    alice.on('push', () => (pushed = true));
    await commit('test:shared');
    await alice.request('Core/echo', {}); // a round trip after the commit's local fan-out
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pushed).toBe(false);

    const carol = await server.connect('alice@example.com');
    await server.app.db.insertInto('sync_scopes').values({ id: 'test:solo' }).execute();
    await carol.request('Push/subscribe', { scopes: [{ scope: 'test:solo' }] });
    const followedBefore = server.app.pushHub.followedScopeCount;
    await carol.close();
    await expect.poll(() => server.app.pushHub.followedScopeCount).toBe(followedBefore - 1);
  });
});
