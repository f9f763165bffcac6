import { invalid } from './errors.ts';
import { type JComp, compName, prop, props, text, values } from './jcal.ts';
import { HOUR, MINUTE, SECOND } from './local-time.ts';
import { ruleFromJcal } from './rrule.ts';
import { parseDateValue } from './values.ts';
import { VtimezoneZone, type Observance } from './vtimezone.ts';

function offset(c: JComp, name: string, tzid: string): number {
  const raw = text(c, name);
  const m = raw ? /^([+-])(\d{2}):?(\d{2})(?::?(\d{2}))?$/.exec(raw.trim()) : null;
  if (!m) throw invalid(`VTIMEZONE "${tzid}" has a missing or invalid ${name.toUpperCase()}`);
  const ms = Number(m[2]) * HOUR + Number(m[3]) * MINUTE + Number(m[4] ?? 0) * SECOND;
  return m[1] === '-' ? -ms : ms;
}

/** A VTIMEZONE component → a Zone (vtimezone.ts). */
export function zoneFromVtimezone(c: JComp): VtimezoneZone {
  const tzid = text(c, 'tzid')!;
  const observances: Observance[] = [];
  for (const o of c[2]) {
    const kind = compName(o);
    if (kind !== 'standard' && kind !== 'daylight') continue;
    const dtstart = prop(o, 'dtstart');
    if (!dtstart) throw invalid(`VTIMEZONE "${tzid}" ${kind.toUpperCase()} has no DTSTART`);
    const start = parseDateValue(String(values(dtstart)[0]), `VTIMEZONE "${tzid}" DTSTART`);
    const rrules = props(o, 'rrule');
    const rdates = props(o, 'rdate').flatMap((p) =>
      values(p).map((v) => parseDateValue(String(Array.isArray(v) ? v[0] : v), `VTIMEZONE "${tzid}" RDATE`).local),
    );
    observances.push({
      start: start.local,
      offsetFrom: offset(o, 'tzoffsetfrom', tzid),
      offsetTo: offset(o, 'tzoffsetto', tzid),
      rule: rrules[0] ? ruleFromJcal(values(rrules[0])[0] as Record<string, unknown>) : null,
      rdates,
    });
  }
  if (observances.length === 0) throw invalid(`VTIMEZONE "${tzid}" has no STANDARD or DAYLIGHT component`);
  return new VtimezoneZone(tzid, observances, text(c, 'x-lic-location'));
}
