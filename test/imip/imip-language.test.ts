import { sql } from 'kysely';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { describeTime } from '../../server/imip/mail-compose.ts';
import { mailLanguage } from '../../server/imip/mail-text.ts';
import { runBin } from '../helpers/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, meeting } from '../scheduling/helpers.ts';
import { eventually, TestMta } from './mta.ts';

/**
 * The organizer's language (issue 11 item 1: "a readable text and HTML
 * summary in the organizer's language if set, else English"): the account
 * sets it (Account/setPreferences), an admin with `dmci user language`; the
 * mail an outsider receives is written in it, dates by Intl in that locale.
 */
let server: TestServer;
let mta: TestMta;
let greta: DmciClient;
let gretaCal: string;

const GRETA = 'greta@lang.test';
const HANA = 'hana@lang.test';
const CAROL = 'carol@customer.example';
const DAVE = 'dave@partner.example';

beforeAll(async () => {
  mta = new TestMta();
  await mta.start();
  server = await startTestServer({ DMCI_SMTP_URL: mta.url, DMCI_OUTBOX_POLL_MS: '100' });
  await server.createAccount(GRETA, undefined, undefined, 'Greta Beispiel');
  await server.createAccount(HANA, undefined, undefined, 'Hana Example');
  greta = await server.connect(GRETA, undefined, { requestTimeoutMs: 60_000 });
  gretaCal = await defaultCalendar(greta);
  await sql`insert into account_availability (account_id, domain_id, time_zone) select id, domain_id, 'Europe/Berlin' from accounts where email in (${GRETA}, ${HANA})`.execute(server.app.db);
});
afterAll(async () => {
  await server.stop();
  await mta.stop();
});

/** Greta invites `to` and waits for the mail it gets. */
async function invite(client: DmciClient, calendarId: string, organizer: string, uid: string, to: string) {
  await client.request('CalendarEvent/set', { calendarId, create: { m: { ics: meeting({ uid, organizer, attendees: [to], summary: 'Planung', location: 'Raum 1' }) } } });
  const mail = await eventually(() => mta.to(to).find((m) => m.raw.includes(uid)), `the invitation ${uid} reaches ${to}`);
  return simpleParser(mail.raw);
}

describe("the organizer's language", () => {
  it('is set by the account over the protocol, stored canonical; a tag that is not BCP 47 is INVALID_ARGUMENTS and changes nothing', async () => {
    expect(await greta.request('Account/getPreferences', {})).toEqual({ language: null });
    expect(await greta.request('Account/setPreferences', { language: 'de-at' })).toEqual({ language: 'de-AT' });
    // Not shaped like a tag (the wire schema), and shaped like one but none (Intl: a singleton without its extension).
    await expect(greta.request('Account/setPreferences', { language: 'German!' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
    await expect(greta.request('Account/setPreferences', { language: 'de-a' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
    expect(await greta.request('Account/getPreferences', {})).toEqual({ language: 'de-AT' });
    expect(await greta.request('Account/setPreferences', { language: null })).toEqual({ language: null });
    expect(await greta.request('Account/setPreferences', { language: 'de' })).toEqual({ language: 'de' });
  });

  it("a German organizer's invitation reaches an outsider with its text and HTML summary in German, dates by Intl in her zone", async () => {
    const parsed = await invite(greta, gretaCal, GRETA, 'planung@lang.test', CAROL);
    expect(parsed.subject).toBe('Einladung: Planung @ Dienstag, 1. Dezember 2026, 11:00 – 12:00 (Europe/Berlin)');
    expect(parsed.text).toContain('Wann: Dienstag, 1. Dezember 2026, 11:00 – 12:00 (Europe/Berlin)');
    expect(parsed.text).toContain('Wo: Raum 1');
    expect(parsed.text).toContain('Organisator: Greta Beispiel <greta@lang.test>');
    expect(parsed.html).toContain('<html lang="de">');
    expect(parsed.html).toContain('<th align="left">Wann</th>');
    // The calendar part is iCalendar as ever: no language in it.
    expect(parsed.attachments.find((a) => /text\/calendar/.test(a.contentType))!.content.toString('utf8')).toMatch(/METHOD:REQUEST/);
  });

  it('an admin sets it with `dmci user language`; a language dmci does not write (or none) gives English', async () => {
    const set = await runBin('dmci', ['--json', 'user', 'language', HANA, 'ja'], { env: { DATABASE_URL: server.databaseUrl } });
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ email: HANA, language: 'ja' });
    const bad = await runBin('dmci', ['user', 'language', HANA, 'de-a'], { env: { DATABASE_URL: server.databaseUrl } });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/not a BCP 47 language tag/);
    const hana = await server.connect(HANA, undefined, { requestTimeoutMs: 60_000 });
    const parsed = await invite(hana, await defaultCalendar(hana), HANA, 'plan-ja@lang.test', DAVE);
    expect(parsed.subject).toBe('Invitation: Planung @ Tuesday, 1 December 2026, 11:00 – 12:00 (Europe/Berlin)');
    expect(parsed.text).toContain('Organizer: Hana Example <hana@lang.test>');
    await hana.close();
    const unset = await runBin('dmci', ['--json', 'user', 'language', HANA, 'default'], { env: { DATABASE_URL: server.databaseUrl } });
    expect(JSON.parse(unset.stdout)).toMatchObject({ language: null });
  }, 120_000);

  it('French and Spanish words and dates; English for anything else', () => {
    const event = { start: new Date('2026-12-01T10:00:00Z'), end: new Date('2026-12-01T11:00:00Z'), allDay: false };
    const fr = mailLanguage('fr-CA');
    expect(fr.words.invitation).toBe('Invitation');
    expect(fr.words.answers.ACCEPTED).toBe('Accepté');
    expect(fr.locale).toBe('fr-CA');
    expect(describeTime(event, 'Europe/Paris', mailLanguage('fr').locale)).toBe('mardi 1 décembre 2026, 11:00 – 12:00 (Europe/Paris)');
    const es = mailLanguage('es');
    expect(es.words.when).toBe('Cuándo');
    expect(describeTime(event, 'Europe/Madrid', es.locale)).toBe('martes, 1 de diciembre de 2026, 11:00 – 12:00 (Europe/Madrid)');
    for (const tag of [null, 'ja', 'xx-YY', 'de-a']) expect(mailLanguage(tag)).toMatchObject({ locale: 'en-GB', words: { invitation: 'Invitation' } });
  });
});
