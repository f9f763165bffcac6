import { sql } from 'kysely';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { composeMail } from '../../server/imip/mail-compose.ts';
import { OutboxSender, smtpTransport } from '../../server/imip/outbox-sender.ts';
import { claimDue, markSent } from '../../server/imip/outbox.repository.ts';
import { createLogger } from '../../server/log/logger.ts';
import { runDmci } from '../helpers/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, inboxOf, meeting } from '../scheduling/helpers.ts';
import { eventually, TestMta } from './mta.ts';

/**
 * The outbox's promises (issue 11 item 1): nothing lost while the SMTP
 * server is down, each message sent once when it is back; two nodes never
 * send one message; a node killed mid-send causes at most one duplicate,
 * after its lease ran out; retries back off; a message past its time is a
 * dead letter the organizer hears of; `dmci outbox list|retry`.
 */
let mta: TestMta;

beforeAll(async () => {
  mta = new TestMta();
  await mta.start();
});
afterAll(() => mta.stop());

const messageIds = async (address: string) => Promise.all(mta.to(address).map(async (m) => (await simpleParser(m.raw)).messageId));

describe('SMTP down, then back', () => {
  let server: TestServer;
  let alice: DmciClient;
  let cal: string;
  beforeAll(async () => {
    server = await startTestServer({ DMCI_SMTP_URL: mta.url, DMCI_OUTBOX_POLL_MS: '100', DMCI_OUTBOX_RETRY_BASE_MS: '100', DMCI_OUTBOX_RETRY_MAX_MS: '300', DMCI_SMTP_TIMEOUT_MS: '5000' });
    await server.createAccount('alice@down.test');
    alice = await server.connect('alice@down.test', undefined, { requestTimeoutMs: 60_000 });
    cal = await defaultCalendar(alice);
  });
  afterAll(() => server.stop());

  it('queues while the SMTP server is down and delivers each message once when it returns', async () => {
    await mta.stop();
    try {
      await alice.request('CalendarEvent/set', { calendarId: cal, create: { m: { ics: meeting({ uid: 'while-down@down.test', organizer: 'alice@down.test', attendees: ['erin@far.example'] }) } } });
      const failing = await eventually(async () => {
        const row = await server.app.db.selectFrom('imip_outbox').selectAll().where('uid', '=', 'while-down@down.test').executeTakeFirstOrThrow();
        return row.attempts >= 3 ? row : undefined;
      }, 'three failed attempts');
      expect(failing.state).toBe('pending');
      expect(failing.last_error).toMatch(/ECONNREFUSED|connect/i);
      expect(mta.to('erin@far.example')).toEqual([]);
    } finally {
      // Back up whatever happened, so the tests after this one have their MTA.
      await mta.start();
    }
    await eventually(() => (mta.to('erin@far.example').length > 0 ? true : undefined), 'delivery after the SMTP server is back');
    // Another message through the same sender: once it arrives, the sender has made further passes.
    await alice.request('CalendarEvent/set', { calendarId: cal, create: { m: { ics: meeting({ uid: 'after@down.test', organizer: 'alice@down.test', attendees: ['frank@far.example'] }) } } });
    await eventually(() => (mta.to('frank@far.example').length > 0 ? true : undefined), 'the next message');
    expect(mta.to('erin@far.example')).toHaveLength(1);
    const row = await server.app.db.selectFrom('imip_outbox').selectAll().where('uid', '=', 'while-down@down.test').executeTakeFirstOrThrow();
    expect(row.state).toBe('sent');
    const metrics = await (await fetch(`${server.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/dmci_outbox_failed_total\{outcome="retry"\} [3-9]|dmci_outbox_failed_total\{outcome="retry"\} \d{2,}/);
  });
});

describe('leases, retries and dead letters (senders driven by the test)', () => {
  let server: TestServer;
  let alice: DmciClient;
  let cal: string;
  const log = createLogger('silent');
  const sender = (node: string, o: { url?: string; leaseMs?: number } = {}) =>
    new OutboxSender({
      db: server.app.db,
      log,
      publish: () => undefined,
      node,
      identity: { mode: 'sender', mailFrom: 'calendar@lease.test' },
      transport: smtpTransport(o.url ?? mta.url, 5000),
      pollMs: 3_600_000,
      batch: 20,
      leaseMs: o.leaseMs ?? 60_000,
      retryBaseMs: 10_000,
      retryMaxMs: 40_000,
      retentionDays: 30,
    });
  const invite = async (uid: string, attendees: string[]) => {
    await alice.request('CalendarEvent/set', { calendarId: cal, create: { m: { ics: meeting({ uid, organizer: 'alice@lease.test', attendees }) } } });
  };
  const rowOf = (uid: string) => server.app.db.selectFrom('imip_outbox').selectAll().where('uid', '=', uid).executeTakeFirstOrThrow();

  beforeAll(async () => {
    // The node's own sender passes once at start and then not for an hour: the test drives the senders.
    server = await startTestServer({ DMCI_SMTP_URL: mta.url, DMCI_OUTBOX_POLL_MS: '3600000', DMCI_MAIL_FROM: 'calendar@lease.test', DMCI_MAIL_FROM_MODE: 'sender' });
    await server.createAccount('alice@lease.test', undefined, undefined, 'Alice Lease');
    alice = await server.connect('alice@lease.test', undefined, { requestTimeoutMs: 60_000 });
    cal = await defaultCalendar(alice);
  });
  afterAll(() => server.stop());

  it('a node killed after claiming: nobody sends until its lease runs out, then one node sends once', async () => {
    await invite('killed-before-send@lease.test', ['gina@far.example']);
    const claimed = await claimDue(server.app.db, 'killed-node', 300, 10);
    expect(claimed.map((r) => r.uid)).toContain('killed-before-send@lease.test');
    const other = sender('node-2');
    // While the lease holds, another node claims nothing.
    expect(await other.runOnce()).toBe(0);
    await eventually(async () => ((await other.runOnce()) > 0 ? true : undefined), 'the lease runs out and node-2 takes the message');
    expect(mta.to('gina@far.example')).toHaveLength(1);
    expect(await other.runOnce()).toBe(0);
    expect(mta.to('gina@far.example')).toHaveLength(1);
    expect((await rowOf('killed-before-send@lease.test')).state).toBe('sent');
  });

  it('a node killed after sending but before recording it: at most one duplicate, with the same Message-ID', async () => {
    await invite('killed-after-send@lease.test', ['hank@far.example']);
    const [row] = (await claimDue(server.app.db, 'killed-node', 300, 10)).filter((r) => r.uid === 'killed-after-send@lease.test');
    await smtpTransport(mta.url, 5000).sendMail(composeMail(row!, { mode: 'sender', mailFrom: 'calendar@lease.test' }));
    // ...and the node dies here. Node 2 sends again once the lease ran out; the dead node's late record is refused.
    const other = sender('node-2');
    await eventually(async () => ((await other.runOnce()) > 0 ? true : undefined), 'node-2 takes the message over');
    expect(await markSent(server.app.db, row!.id, 'killed-node')).toBe(false);
    expect(await other.runOnce()).toBe(0);
    const ids = await messageIds('hank@far.example');
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[0]).toBe(row!.message_id);
  });

  it('two nodes passing at once send every message exactly once', async () => {
    const people = Array.from({ length: 8 }, (_, i) => `p${i}@many.example`);
    await invite('many@lease.test', people);
    const [a, b] = [sender('node-a'), sender('node-b')];
    const claimed = await Promise.all([a.runOnce(), b.runOnce(), a.runOnce(), b.runOnce()]);
    expect(claimed.reduce((x, y) => x + y, 0)).toBe(8);
    for (const p of people) expect(mta.to(p), p).toHaveLength(1);
  });

  it('in sender mode the mail is From the configured sender, Reply-To the organizer, bounces to the sender', async () => {
    const mail = mta.to('gina@far.example')[0]!;
    const parsed = await simpleParser(mail.raw);
    expect(parsed.from?.value[0]).toMatchObject({ address: 'calendar@lease.test', name: 'Alice Lease (via dmci)' });
    expect(parsed.replyTo?.value[0]).toMatchObject({ address: 'alice@lease.test' });
    expect(mail.from).toBe('calendar@lease.test');
  });

  it('a failed attempt backs off exponentially up to the maximum; past its time a message is dead and the organizer told', async () => {
    await invite('backoff@lease.test', ['ivan@far.example']);
    const closed = new TestMta();
    await closed.start();
    const closedUrl = closed.url;
    await closed.stop();
    const failing = sender('node-3', { url: closedUrl });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      await sql`update imip_outbox set next_attempt_at = now() where uid = 'backoff@lease.test'`.execute(server.app.db);
      expect(await failing.runOnce()).toBe(1);
      const { rows } = await sql<{ delay: number }>`select extract(epoch from next_attempt_at - now()) * 1000 as delay from imip_outbox where uid = 'backoff@lease.test'`.execute(server.app.db);
      delays.push(Number(rows[0]!.delay));
    }
    // 10 s, 20 s, 40 s, 40 s (the maximum): each within a second of that.
    expect(delays.map((d) => Math.round(d / 10_000) * 10_000)).toEqual([10_000, 20_000, 40_000, 40_000]);
    const row = await rowOf('backoff@lease.test');
    expect(row).toMatchObject({ state: 'pending', attempts: 4 });

    await sql`update imip_outbox set next_attempt_at = now(), expires_at = now() - interval '1 second' where uid = 'backoff@lease.test'`.execute(server.app.db);
    expect(await failing.runOnce()).toBe(1);
    const dead = await rowOf('backoff@lease.test');
    expect(dead.state).toBe('dead');
    expect(dead.last_error).toMatch(/^gave up after 5 attempts: /);
    const message = (await inboxOf(alice)).find((m) => m.kind === 'undeliverable' && m.uid === 'backoff@lease.test');
    expect(message).toMatchObject({ from: 'ivan@far.example' });
  });

  it('dmci outbox list shows the dead letter with its reason; dmci outbox retry sends it again', { timeout: 180_000 }, async () => {
    const env = { env: { DATABASE_URL: server.databaseUrl } };
    const listed = await runDmci(['--json', 'outbox', 'list', '--state', 'dead'], env);
    expect(listed.code, listed.stderr).toBe(0);
    const dead = (JSON.parse(listed.stdout) as Array<{ id: string; to: string; lastError: string; state: string }>).find((m) => m.to === 'ivan@far.example')!;
    expect(dead).toMatchObject({ state: 'dead' });
    expect(dead.lastError).toMatch(/gave up after 5 attempts/);
    expect((await runDmci(['outbox', 'retry', 'not-an-id'], env)).code).toBe(2);
    expect((await runDmci(['outbox', 'list', '--state', 'lost'], env)).code).toBe(2);
    const retried = await runDmci(['--json', 'outbox', 'retry', dead.id], env);
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toEqual({ retried: 1 });
    expect(await sender('node-4').runOnce()).toBe(1);
    expect(mta.to('ivan@far.example')).toHaveLength(1);
    expect((await rowOf('backoff@lease.test')).state).toBe('sent');
  });
});
