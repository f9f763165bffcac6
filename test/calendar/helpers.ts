import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DmciClient } from '../../connector-sim/client.ts';

/** Copies of ../shared/samples (with their README of expected answers), so a clone anywhere can run the suite. */
export const SAMPLES = join(import.meta.dirname, '../fixtures/samples');

export function sample(name: string): string {
  return readFileSync(join(SAMPLES, name), 'utf8');
}

export async function defaultCalendarId(client: DmciClient): Promise<string> {
  const { list } = await client.request('Calendar/get', {});
  return list.find((c) => c.isDefault)!.id;
}

let serial = 0;
/** A small valid event; `start` is a UTC ISO date-time. */
export function simpleEvent(options: { uid?: string; summary?: string; start?: string; minutes?: number; rrule?: string; extra?: string } = {}): string {
  const uid = options.uid ?? `ev-${Date.now()}-${serial++}@test.dmci`;
  const start = new Date(options.start ?? '2026-12-01T10:00:00Z');
  const end = new Date(start.getTime() + (options.minutes ?? 60) * 60_000);
  const fmt = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//dmci tests//EN',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20261001T000000Z',
    `DTSTART:${fmt(start)}`,
    `DTEND:${fmt(end)}`,
    `SUMMARY:${options.summary ?? 'Test event'}`,
    ...(options.rrule ? [`RRULE:${options.rrule}`] : []),
    ...(options.extra ? [options.extra] : []),
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

/** A replica kept by following CalendarEvent/changes: id → version. */
export async function followChanges(client: DmciClient, calendarId: string, replica: Map<string, number>, state: string | undefined, maxChanges = 50): Promise<string> {
  let current = state;
  for (;;) {
    const page = await client.request('CalendarEvent/changes', { calendarId, maxChanges, ...(current !== undefined ? { sinceState: current } : {}) });
    for (const e of [...page.created, ...page.updated]) replica.set(e.id, e.version);
    for (const id of page.destroyed) replica.delete(id);
    current = page.newState;
    if (!page.hasMoreChanges) return current;
  }
}
