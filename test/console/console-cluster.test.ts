import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';
import { ConsoleHttp } from './console-client.ts';

/**
 * Two nodes on one database: the console on node A shows the sessions of
 * node B (from B's report) and disconnects one of them (the kick hint).
 * The console session itself is in PostgreSQL, so node B's console knows it.
 */
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  a = await startTestServer({ DMCI_NODE_ID: 'node-a' });
  b = await startTestServer({ DMCI_NODE_ID: 'node-b' }, { databaseUrl: a.databaseUrl });
  await a.createAccount('root@cluster.test', DEFAULT_PASSWORD, 'global_admin');
  await a.createAccount('kim@cluster.test');
}, 60_000);
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

describe('console across nodes', () => {
  it("lists another node's session and disconnects it there; a session made on one node works on the other", async () => {
    const onA = new ConsoleHttp(`http://127.0.0.1:${a.app.consolePort}`);
    expect((await onA.login('root@cluster.test', DEFAULT_PASSWORD)).status).toBe(303);
    // The same cookie on node B: the session lives in PostgreSQL.
    const onB = new ConsoleHttp(`http://127.0.0.1:${b.app.consolePort}`);
    for (const [k, v] of onA.cookies) onB.cookies.set(k, v);
    expect((await onB.get('/sessions')).status).toBe(200);

    const kim = await b.connect('kim@cluster.test', DEFAULT_PASSWORD, { reconnect: false, clientName: 'kim-desktop' });
    const closed = new Promise<number>((resolve) => kim.once('close', ({ code }) => resolve(code)));
    // Node B reports its sessions every few seconds; node A's page shows them once reported.
    let page = '';
    await expect
      .poll(
        async () => {
          page = await (await onA.get('/sessions?q=kim-desktop')).text();
          return page.includes('kim@cluster.test');
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(true);
    expect(page).toContain('node-b');
    const session = /name="session" value="([^"]+)"/.exec(page)![1]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    const done = await onA.post('/sessions/disconnect', { csrf, session, back: '/sessions' });
    expect(done.status).toBe(303);
    expect(await closed).toBe(4006);
    expect(await (await onA.get('/sessions')).text()).toContain('disconnected kim@cluster.test');
    // The dashboard counts both nodes.
    const dashboard = await (await onA.get('/')).text();
    expect(dashboard).toContain('node-a');
    expect(dashboard).toContain('node-b');
  });
});
