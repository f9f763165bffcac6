import type { HandlerTable } from '../gateway/request-context.ts';
import type { Services } from '../services.ts';

type CalendarHandlers = Pick<
  HandlerTable,
  'Calendar/get' | 'Calendar/set' | 'Calendar/changes' | 'CalendarEvent/get' | 'CalendarEvent/set' | 'CalendarEvent/changes' | 'CalendarEvent/query'
>;

/** Thin adapters: the services check rights and privacy (calendar-access.ts). */
export function calendarHandlers({ calendars, calendarEvents }: Services): CalendarHandlers {
  return {
    'Calendar/get': async (args, { actor }) => calendars.get(actor, args),
    'Calendar/set': async (args, { actor, log }) => calendars.set(actor, args, log),
    'Calendar/changes': async (args, { actor }) => calendars.changes(actor, args),
    'CalendarEvent/get': async (args, { actor }) => calendarEvents.get(actor, args),
    'CalendarEvent/set': async (args, { actor }) => calendarEvents.set(actor, args),
    'CalendarEvent/changes': async (args, { actor }) => calendarEvents.changes(actor, args),
    'CalendarEvent/query': async (args, { actor }) => calendarEvents.query(actor, args),
  };
}
