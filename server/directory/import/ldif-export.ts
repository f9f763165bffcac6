import type { Db } from '../../db/database.ts';
import { aliasesOf, membersOf } from '../directory.repository.ts';
import { entryDn } from './dn.ts';

/** Entries read per query while exporting. */
const PAGE = 1_000;

/**
 * Writes the visible GAL of each domain as LDIF (RFC 2849), in the LDAP
 * door's DNs and attribute names, so `dmci import --format ldif` of the
 * output restores the same state: hidden entries, disabled accounts and
 * tombstones are never written; entries without an address get their
 * `uid=<id>` DN, which the importer matches back to the same entry.
 */
export async function* exportLdif(db: Db, domains: ReadonlyArray<{ id: string; name: string }>): AsyncGenerator<string> {
  yield 'version: 1\n';
  for (const domain of domains) {
    // id → DN of every visible entry, for member and manager references.
    const refs = await db.selectFrom('directory_entries').select(['id', 'email']).where('domain_id', '=', domain.id).where('visible', '=', true).execute();
    const dnOf = new Map(refs.map((r) => [r.id, entryDn(r, domain.name)]));
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const rows = await db
        .selectFrom('directory_entries')
        .selectAll()
        .where('domain_id', '=', domain.id)
        .where('visible', '=', true)
        .where('id', '>', after)
        .orderBy('id')
        .limit(PAGE)
        .execute();
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.id;
      const aliases = await aliasesOf(db, rows.map((r) => r.id));
      const members = await membersOf(db, rows.filter((r) => r.kind === 'group').map((r) => r.id), { visibleOnly: true });
      let chunk = '';
      for (const row of rows) {
        const lines: string[] = [`\n`, attribute('dn', dnOf.get(row.id)!)];
        const add = (name: string, value: string | Buffer | number | null | undefined) => {
          if (value !== null && value !== undefined && value !== '') lines.push(attribute(name, value));
        };
        const classes =
          row.kind === 'group' ? ['top', 'groupOfNames', 'dmciGalEntry'] : row.kind === 'resource' ? ['top', 'dmciResource', 'dmciGalEntry'] : ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'dmciGalEntry'];
        for (const c of classes) add('objectClass', c);
        for (const cn of row.common_names?.length ? row.common_names : [row.display_name]) add('cn', cn);
        add('displayName', row.display_name);
        add('givenName', row.given_name);
        add('sn', row.surname);
        add('mail', row.email);
        for (const alias of aliases.get(row.id) ?? []) add('otherMailbox', alias);
        add('title', row.title);
        add('department', row.department);
        add('company', row.company);
        add('physicalDeliveryOfficeName', row.office);
        add('telephoneNumber', row.business_phone);
        add('mobile', row.mobile_phone);
        if (row.manager_id) add('manager', dnOf.get(row.manager_id));
        add('dmciResourceType', row.resource_type);
        add('roomCapacity', row.capacity);
        add('location', row.location);
        for (const member of members.get(row.id) ?? []) add('member', dnOf.get(member));
        if (row.photo) add(row.photo_type === 'image/png' ? 'thumbnailPhoto' : 'jpegPhoto', row.photo);
        chunk += lines.join('');
      }
      yield chunk;
    }
  }
}

/** One attribute line, base64 when RFC 2849 requires it, folded at 76 columns. */
function attribute(name: string, value: string | Buffer | number): string {
  const text = typeof value === 'number' ? String(value) : value;
  // SAFE-STRING: no NUL, LF, CR; does not start with space, ':' or '<'; and we also keep to ASCII and no trailing space.
  const safe = typeof text === 'string' && /^[\x21-\x39\x3b\x3d-\x7e][\x20-\x7e]*$/.test(text) && !text.endsWith(' ');
  const line = safe ? `${name}: ${text}` : `${name}:: ${Buffer.from(text).toString('base64')}`;
  return fold(line) + '\n';
}

function fold(line: string): string {
  if (line.length <= 76) return line;
  const parts = [line.slice(0, 76)];
  for (let i = 76; i < line.length; i += 75) parts.push(` ${line.slice(i, i + 75)}`);
  return parts.join('\n');
}
