/**
 * A reproducible, realistic GAL for comparing dmci with OpenLDAP's slapd
 * (test/ldap/slapd-differential.test.ts, bench/ldap.ts, bench/gal.ts):
 * people named in several scripts, with cn "Given Surname" and displayName
 * "Surname, Given", a second cn now and then, aliases, groups and rooms.
 * toLdif writes every attribute dmci serves for an entry, so the same file
 * loads into both servers and both hold the same values.
 */
export interface GeneratedEntry {
  kind: 'person' | 'group' | 'resource';
  mail: string;
  cn: string[];
  displayName: string;
  givenName?: string;
  sn?: string;
  title?: string;
  department?: string;
  company?: string;
  office?: string;
  phone?: string;
  aliases: string[];
  members: string[];
  resourceType?: 'room' | 'equipment';
  capacity?: number;
  location?: string;
}

const GIVEN = [
  'Anna', 'Andreas', 'José', 'Josée', 'Václav', 'Vaclav', 'Łukasz', 'Zoë', 'François', 'Søren', 'Ælfred', 'Jürgen', 'Maria', 'Mariá', 'Ελένη', 'Γιώργος',
  'Иван', 'Ольга', '太郎', '花子', 'Ngọc', 'Siobhán', 'Åsa', 'Ōta', 'Chloé', 'Ivan', 'Olga', 'Jose', 'Lena', 'Leon', 'Li', 'Ng',
];
const SURNAMES = [
  'Novák', 'Novak', 'Fourier', 'Álvarez', 'Alvarez', 'Müller', 'Muller', 'Kowalski', 'Dvořák', 'Østergaard', 'Παπαδόπουλος', 'Иванов', '山田', '佐藤',
  'Nguyễn', "O'Brien", 'de la Cruz', 'Van Dyke', 'Smith', 'Smyth', 'Lee', 'Li', 'García', 'Garcia', 'Şahin', 'Çelik', 'Ölçer', 'Wąsik', 'Jones',
];
const TITLES = ['Engineer', 'Senior Engineer', 'Analyst', 'Directeur Général', 'Ingénieure', 'Manager', 'Sales Lead'];
const DEPARTMENTS = ['Research', 'R&D', 'Sales', 'Ventes', 'Finance', 'Ressources Humaines', 'Entwicklung'];
const OFFICES = ['HQ 1', 'HQ 2', 'Praha', 'Zürich', 'São Paulo', 'Tōkyō'];

/** Deterministic: the same count and seed give the same directory. */
export function generateGal(count: number, domain: string, seed = 13): GeneratedEntry[] {
  let state = seed;
  const random = (n: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return Math.floor((state / 2 ** 31) * n);
  };
  const pick = <T>(list: readonly T[]): T => list[random(list.length)]!;
  const entries: GeneratedEntry[] = [];
  const people = Math.max(1, count - Math.ceil(count / 50) - Math.ceil(count / 100));
  for (let n = 0; n < people; n++) {
    const givenName = pick(GIVEN);
    const sn = pick(SURNAMES);
    const mail = `p${n}@${domain}`;
    const cn = [`${givenName} ${sn}`];
    if (random(8) === 0) cn.push(`${givenName.slice(0, 1)}. ${sn}`);
    entries.push({
      kind: 'person',
      mail,
      cn,
      displayName: random(4) === 0 ? cn[0]! : `${sn}, ${givenName}`,
      givenName,
      sn,
      ...(random(3) ? { title: pick(TITLES) } : {}),
      ...(random(4) ? { department: pick(DEPARTMENTS) } : {}),
      ...(random(2) ? { company: 'Exämple SA' } : {}),
      ...(random(3) ? { office: pick(OFFICES) } : {}),
      ...(random(2) ? { phone: `+420 2${random(10)}${random(10)} ${100 + random(900)}-${random(10)}${random(10)}` } : {}),
      aliases: random(5) === 0 ? [`alias${n}@${domain}`] : [],
      members: [],
    });
  }
  for (let n = 0; entries.length < count - Math.ceil(count / 100); n++) {
    const members = Array.from({ length: 1 + random(5) }, () => entries[random(people)]!.mail);
    const name = `Team ${pick(DEPARTMENTS)} ${n}`;
    entries.push({ kind: 'group', mail: `g${n}@${domain}`, cn: [name], displayName: name, aliases: [], members: [...new Set(members)] });
  }
  for (let n = 0; entries.length < count; n++) {
    const name = `Salle ${pick(OFFICES)} ${n}`;
    entries.push({ kind: 'resource', mail: `r${n}@${domain}`, cn: [name], displayName: name, aliases: [], members: [], resourceType: 'room', capacity: 2 + random(30), location: pick(OFFICES) });
  }
  return entries;
}

export function entryDn(entry: GeneratedEntry, base: string): string {
  return `mail=${entry.mail},${base}`;
}

const CLASSES = {
  person: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'dmciGalEntry'],
  group: ['top', 'groupOfNames', 'dmciGalEntry'],
  resource: ['top', 'dmciResource', 'dmciGalEntry'],
};

/** The entries as LDIF, with every attribute name dmci serves each value under. */
export function toLdif(entries: readonly GeneratedEntry[], base: string): string {
  const lines: string[] = [];
  const add = (name: string, value: string | number | undefined) => {
    if (value === undefined) return;
    const text = String(value);
    lines.push(/^[\x21-\x39\x3b\x3d-\x7e][\x20-\x7e]*$/.test(text) && !text.endsWith(' ') ? `${name}: ${text}` : `${name}:: ${Buffer.from(text).toString('base64')}`);
  };
  for (const e of entries) {
    add('dn', entryDn(e, base));
    for (const c of CLASSES[e.kind]) add('objectClass', c);
    for (const cn of e.cn) add('cn', cn);
    add('displayName', e.displayName);
    add('givenName', e.givenName);
    add('sn', e.sn);
    add('mail', e.mail);
    for (const alias of e.aliases) add('otherMailbox', alias);
    add('proxyAddresses', `SMTP:${e.mail}`);
    for (const alias of e.aliases) add('proxyAddresses', `smtp:${alias}`);
    add('title', e.title);
    for (const name of ['departmentNumber', 'ou', 'department']) add(name, e.department);
    for (const name of ['o', 'company']) add(name, e.company);
    add('physicalDeliveryOfficeName', e.office);
    add('telephoneNumber', e.phone);
    for (const member of e.members) add('member', `mail=${member},${base}`);
    add('dmciResourceType', e.resourceType);
    add('roomCapacity', e.capacity);
    add('location', e.location);
    lines.push('');
  }
  return lines.join('\n');
}
