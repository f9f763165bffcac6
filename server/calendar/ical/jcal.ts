/**
 * Minimal typed access to the jCal arrays ical.js's parser produces
 * ([name, props, components]; a property is [name, params, type, ...values]).
 * Working on jCal keeps values as written: ical.js's own value objects would
 * already apply its time zone and recurrence logic, which we replace.
 */

export type JProp = [string, Record<string, unknown>, string, ...unknown[]];
export type JComp = [string, JProp[], JComp[]];

export const compName = (c: JComp): string => c[0].toLowerCase();
export const props = (c: JComp, name: string): JProp[] => c[1].filter((p) => p[0] === name);
export const prop = (c: JComp, name: string): JProp | undefined => c[1].find((p) => p[0] === name);
export const subs = (c: JComp, name: string): JComp[] => c[2].filter((s) => compName(s) === name);
export const values = (p: JProp): unknown[] => p.slice(3);

export function param(p: JProp, name: string): string | null {
  const v = p[1][name];
  if (v === undefined || v === null) return null;
  return Array.isArray(v) ? String(v[0]) : String(v);
}

/** First value of a property as text, or null. */
export function text(c: JComp, name: string): string | null {
  const p = prop(c, name);
  if (!p) return null;
  const v = p[3];
  if (v === undefined || v === null) return null;
  return Array.isArray(v) ? v.map(String).join(',') : String(v);
}
