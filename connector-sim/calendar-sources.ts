import type { Calendar, CalendarEvent, SyncWindow } from '../protocol/index.ts';
import type { DmciClient } from './client.ts';
import type { ScopeSource } from './replica.ts';

/** How a replica reads one calendar's events (`CalendarEvent/changes`), optionally windowed. */
export function calendarEventsSource(calendar: Pick<Calendar, 'id' | 'scope'>, options: { window?: SyncWindow; maxChanges?: number } = {}): ScopeSource<CalendarEvent> {
  return {
    scope: calendar.scope,
    changes: (client: DmciClient, sinceState: string | undefined) =>
      client.request('CalendarEvent/changes', {
        calendarId: calendar.id,
        maxChanges: options.maxChanges ?? 500,
        ...(sinceState !== undefined ? { sinceState } : {}),
        ...(options.window ? { window: options.window } : {}),
      }),
    idOf: (event) => event.id,
  };
}

/** The calendars the account sees; `--calendar` defaults to the default one. */
export async function listCalendars(client: DmciClient): Promise<Calendar[]> {
  return (await client.request('Calendar/get', {})).list;
}

export async function resolveCalendar(client: DmciClient, id: string | undefined): Promise<Calendar> {
  const calendars = await listCalendars(client);
  const calendar = id ? calendars.find((c) => c.id === id) : calendars.find((c) => c.isDefault && c.owner.email === client.welcome?.account.email);
  if (!calendar) throw new Error(id ? `no calendar ${id} visible to this account` : 'this account has no default calendar');
  return calendar;
}
