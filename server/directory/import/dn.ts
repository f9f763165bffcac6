/**
 * Just enough of RFC 4514 DNs for import and export: split a DN into RDNs
 * (honouring backslash escapes), escape a value, and the GAL's DN layout,
 * which is the LDAP door's (server/ldap/ldap-dn.ts): `mail=<email>,ou=gal,dc=…`
 * for entries with an address, `uid=<entry id>,ou=gal,dc=…` for the others.
 */
export interface Rdn {
  type: string;
  value: string;
}

export function splitDn(dn: string): Rdn[] | undefined {
  const rdns: Rdn[] = [];
  let type = '';
  let value = '';
  let inValue = false;
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i]!;
    if (c === '\\' && i + 1 < dn.length) {
      const hex = dn.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        value += String.fromCharCode(parseInt(hex, 16));
        i += 2;
      } else {
        value += dn[i + 1];
        i++;
      }
    } else if (!inValue && c === '=') inValue = true;
    else if (c === ',' || c === '+' || c === ';') {
      if (!inValue) return undefined;
      rdns.push({ type: type.trim().toLowerCase(), value: value.trim() });
      [type, value, inValue] = ['', '', false];
    } else if (inValue) value += c;
    else type += c;
  }
  if (!inValue) return undefined;
  rdns.push({ type: type.trim().toLowerCase(), value: value.trim() });
  return rdns.every((r) => r.type) ? rdns : undefined;
}

export function escapeDnValue(value: string): string {
  return value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/^[ #]/, (c) => `\\${c}`).replace(/ $/, '\\ ');
}

export function galBaseDn(domain: string): string {
  return `ou=gal,${domain.split('.').map((part) => `dc=${escapeDnValue(part)}`).join(',')}`;
}

export function entryDn(entry: { id: string; email: string | null }, domain: string): string {
  return entry.email ? `mail=${escapeDnValue(entry.email)},${galBaseDn(domain)}` : `uid=${entry.id},${galBaseDn(domain)}`;
}

/** A DN in the form used as an import identity: RDNs lower-cased and re-joined without spaces. */
export function normalizeDn(dn: string): string {
  const rdns = splitDn(dn);
  if (!rdns) return dn.trim().toLowerCase();
  return rdns.map((r) => `${r.type}=${escapeDnValue(r.value.toLowerCase())}`).join(',');
}

/** What a DN says about an entry: its address (mail=), its dmci id (uid=<uuid>), and its domain (dc= parts). */
export function readDn(dn: string): { email?: string; entryId?: string; domain?: string } {
  const rdns = splitDn(dn);
  if (!rdns) return {};
  const first = rdns[0]!;
  const dcs = rdns.filter((r) => r.type === 'dc').map((r) => r.value.toLowerCase());
  return {
    ...(first.type === 'mail' && first.value.includes('@') ? { email: first.value.toLowerCase() } : {}),
    ...(first.type === 'uid' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(first.value) ? { entryId: first.value.toLowerCase() } : {}),
    ...(dcs.length >= 2 ? { domain: dcs.join('.') } : {}),
  };
}
