import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendarId, simpleEvent } from '../calendar/helpers.ts';

/**
 * FreeBusy/suggest, checked against a hand-built case: people in New York,
 * Berlin and Tokyo whose working hours overlap for one hour a day
 * (14:00–15:00 UTC in December), an optional attendee in London, and two
 * "rooms" (accounts named as rooms, so the room logic is exercised before
 * resource calendars exist on this branch). The expected slots, confidences
 * and reasons are worked out by hand in the comments.
 */

let server: TestServer;
let ny: DmciClient;
const clients: Record<string, DmciClient> = {};
// Tue 2026-12-01 00:00Z to Thu 2026-12-03 00:00Z: two working days everywhere.
const window = { from: '2026-12-01T00:00:00Z', to: '2026-12-03T00:00:00Z' };

async function busy(name: string, start: string, minutes: number, extra?: string): Promise<void> {
  const client = clients[name]!;
  const result = await client.request('CalendarEvent/set', { calendarId: await defaultCalendarId(client), create: { e: { ics: simpleEvent({ start, minutes, ...(extra ? { extra } : {}) }) } } });
  expect(result.notCreated).toEqual({});
}

beforeAll(async () => {
  server = await startTestServer();
  const zones: Record<string, [string, string, string]> = {
    ny: ['America/New_York', '09:00', '17:00'], // 14:00–22:00 UTC
    berlin: ['Europe/Berlin', '09:00', '17:00'], // 08:00–16:00 UTC
    tokyo: ['Asia/Tokyo', '16:00', '24:00'], // 07:00–15:00 UTC
    london: ['Europe/London', '09:00', '17:00'],
    rooma: ['UTC', '00:00', '24:00'],
    roomb: ['UTC', '00:00', '24:00'],
  };
  for (const [name, [timeZone, start, end]] of Object.entries(zones)) {
    await server.createAccount(`${name}@example.com`);
    clients[name] = await server.connect(`${name}@example.com`);
    await clients[name].setFreeBusySettings({ workingHours: { days: [1, 2, 3, 4, 5], start, end, timeZone } });
  }
  ny = clients.ny!;
  // Tuesday: New York busy in the only common hour. Wednesday: London (optional) tentative then; room A booked.
  await busy('ny', '2026-12-01T14:00:00Z', 60);
  await busy('london', '2026-12-02T14:00:00Z', 60, 'STATUS:TENTATIVE');
  await busy('rooma', '2026-12-02T14:00:00Z', 60);
});
afterAll(() => server.stop());

const people = { required: ['ny@example.com', 'berlin@example.com', 'tokyo@example.com'], optional: ['london@example.com'] };

describe('FreeBusy/suggest', () => {
  it('finds the one common working hour of three time zones and ranks by confidence', async () => {
    const result = await ny.request('FreeBusy/suggest', { ...people, ...window, duration: 60, granularity: 30 });
    expect(result.emptyReason).toBeNull();
    // Wednesday: required all free (3), London tentative (0.5 × 0.5) → 3.25 / 3.5 = 92.86.
    // Tuesday: New York busy (0 + 1 + 1), London free (0.5) → 2.5 / 3.5 = 71.43.
    expect(result.suggestions.map((s) => [s.start, s.end, s.confidence])).toEqual([
      ['2026-12-02T14:00:00.000Z', '2026-12-02T15:00:00.000Z', 92.86],
      ['2026-12-01T14:00:00.000Z', '2026-12-01T15:00:00.000Z', 71.43],
    ]);
    expect(result.suggestions[1]!.attendees).toEqual([
      { principal: 'ny@example.com', required: true, availability: 'busy' },
      { principal: 'berlin@example.com', required: true, availability: 'free' },
      { principal: 'tokyo@example.com', required: true, availability: 'free' },
      { principal: 'london@example.com', required: false, availability: 'free' },
    ]);
    expect(result.suggestions[0]!.rooms).toEqual([]);
    // A minimum confidence above Tuesday's leaves Wednesday only.
    const strict = await ny.request('FreeBusy/suggest', { ...people, ...window, duration: 60, minimumConfidence: 80 });
    expect(strict.suggestions.map((s) => s.start)).toEqual(['2026-12-02T14:00:00.000Z']);
  });

  it('shorter meetings give more slots inside the common hour', async () => {
    const result = await ny.request('FreeBusy/suggest', { required: people.required, ...window, duration: 30, granularity: 15, maxSuggestions: 50 });
    // Wednesday 14:00, 14:15, 14:30 all free (100); Tuesday's are all 66.67 (New York busy).
    expect(result.suggestions.map((s) => [s.start.slice(5, 16), s.confidence])).toEqual([
      ['12-02T14:00', 100],
      ['12-02T14:15', 100],
      ['12-02T14:30', 100],
      ['12-01T14:00', 66.67],
      ['12-01T14:15', 66.67],
      ['12-01T14:30', 66.67],
    ]);
  });

  it('names the rooms free for each slot and drops slots with none', async () => {
    const both = await ny.request('FreeBusy/suggest', { ...people, ...window, duration: 60, rooms: ['rooma@example.com', 'roomb@example.com'] });
    expect(both.suggestions.map((s) => [s.start.slice(5, 16), s.rooms])).toEqual([
      ['12-02T14:00', ['roomb@example.com']],
      ['12-01T14:00', ['rooma@example.com', 'roomb@example.com']],
    ]);
    const onlyA = await ny.request('FreeBusy/suggest', { ...people, ...window, duration: 60, rooms: ['rooma@example.com'] });
    expect(onlyA.suggestions.map((s) => s.start.slice(5, 16))).toEqual(['12-01T14:00']);
  });

  it('says why the answer is empty', async () => {
    const reason = async (args: Partial<Parameters<DmciClient['request']>[1]> & Record<string, unknown>) =>
      (await ny.request('FreeBusy/suggest', { ...people, ...window, duration: 60, ...args })).emptyReason;
    expect(await reason({ duration: 120 })).toBe('outsideWorkingHours');
    expect(await reason({ from: '2026-12-01T14:00:00Z', to: '2026-12-01T14:30:00Z' })).toBe('windowTooShort');
    expect(await reason({ from: '2026-12-02T00:00:00Z', rooms: ['rooma@example.com'] })).toBe('roomsUnavailable');
    expect(await reason({ from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z', minimumConfidence: 90 })).toBe('attendeesUnavailable');
    // A room of the domain found by capacity: none has a calendar yet on this branch, so none is known to be free.
    const any = await ny.request('FreeBusy/suggest', { ...people, ...window, duration: 60, anyRoom: { minCapacity: 4 } });
    expect(any).toEqual({ suggestions: [], emptyReason: 'roomsUnavailable', unknown: [] });
  });

  it('counts attendees it cannot read as unknown (half likely) and reports them', async () => {
    const result = await ny.request('FreeBusy/suggest', { required: ['berlin@example.com', 'ghost@example.com'], from: '2026-12-01T08:00:00Z', to: '2026-12-01T09:00:00Z', duration: 60 });
    expect(result.unknown).toEqual(['ghost@example.com']);
    expect(result.suggestions.map((s) => [s.start, s.confidence])).toEqual([['2026-12-01T08:00:00.000Z', 75]]);
  });

  it('refuses bad input', async () => {
    const code = async (args: Record<string, unknown>) =>
      ((await ny.call('FreeBusy/suggest', { ...people, ...window, duration: 60, ...args }).catch((e: { code: string }) => e)) as { code: string }).code;
    expect(await code({ duration: 4 })).toBe('INVALID_ARGUMENTS');
    expect(await code({ duration: 1441 })).toBe('INVALID_ARGUMENTS');
    expect(await code({ required: [] })).toBe('INVALID_ARGUMENTS');
    expect(await code({ to: '2027-02-02T00:00:01Z' })).toBe('LIMIT_EXCEEDED');
    expect(await code({ to: '2026-11-30T00:00:00Z' })).toBe('INVALID_ARGUMENTS');
    expect(await code({ optional: Array.from({ length: 98 }, (_, i) => `o${i}@example.com`) })).toBe('LIMIT_EXCEEDED');
  });
});
