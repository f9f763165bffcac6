import ICAL from 'ical.js';
import type { JComp, JProp } from './jcal.ts';

/**
 * The text stored for an object: one VCALENDAR with this UID's VEVENTs and the
 * VTIMEZONEs they use, CRLF line ends and folded lines (ical.js's writer).
 * METHOD is dropped: it belongs to iTIP messages, not stored objects (RFC 4791 §4.1).
 */
export function normalizedText(calendarProps: JProp[], timezones: JComp[], events: JComp[]): string {
  const kept = calendarProps.filter((p) => p[0] !== 'method');
  if (!kept.some((p) => p[0] === 'prodid')) kept.unshift(['prodid', {}, 'text', '-//dmci//EN']);
  if (!kept.some((p) => p[0] === 'version')) kept.unshift(['version', {}, 'text', '2.0']);
  const out = ICAL.stringify(['vcalendar', kept, [...timezones, ...events]] as unknown as Parameters<typeof ICAL.stringify>[0]);
  // ical.js writes CRLF already; this only guards against a change of its default.
  const crlf = /(^|[^\r])\n/.test(out) ? out.replace(/\r?\n/g, '\r\n') : out;
  return crlf.endsWith('\r\n') ? crlf : `${crlf}\r\n`;
}
