/**
 * What may go into an audit record's detail. The audit log must never hold a
 * secret (a password, a token, a hash): keys that name one are dropped at
 * any depth, whatever a caller passes, and strings and arrays are bounded so
 * one record stays small.
 */
const SECRET_KEY = /pass(word)?|secret|token|hash|credential|cookie|csrf/i;
const MAX_STRING = 500;
const MAX_ITEMS = 100;
const MAX_DEPTH = 5;

export function auditDetail(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (value instanceof Date) return value.toISOString();
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(value)) return value.slice(0, MAX_ITEMS).map((item) => auditDetail(item, depth + 1));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (SECRET_KEY.test(key) || item === undefined) continue;
      out[key] = auditDetail(item, depth + 1);
    }
    return out;
  }
  return String(value);
}
