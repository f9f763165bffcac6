import { execFile, spawnSync } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import ldap from 'ldapjs';
import { sql } from 'kysely';
import type { Db } from '../../server/db/database.ts';
import type { FilterNode } from '../../server/ldap/ldap-filter.ts';
import { BerReader, decodeFilter } from '../../server/ldap/ldap-request.ts';
import { refreshSearchTerms } from '../../server/directory/search/search-terms.ts';

/**
 * Helpers for driving dmci's LDAP door: OpenLDAP's ldapsearch (Debian
 * package ldap-utils, installed by .ci/run), an ldapjs client, a raw socket
 * for bytes no client would send, and SQL seeding of the GAL tables.
 */

export const hasLdapsearch = spawnSync('sh', ['-c', 'command -v ldapsearch']).status === 0;
export const hasOpenssl = spawnSync('sh', ['-c', 'command -v openssl']).status === 0;
export const MISSING_LDAPSEARCH =
  'ldapsearch not found: install OpenLDAP client tools (Debian/Ubuntu: apt-get install ldap-utils) to run the ldapsearch tests; .ci/run installs them in CI';

export interface LdifEntry {
  dn: string;
  attrs: Record<string, string[]>;
}

export interface LdapsearchResult {
  code: number;
  stdout: string;
  stderr: string;
  entries: LdifEntry[];
  /** The "result: N ..." line ldapsearch prints (absent when it failed before searching). */
  result: number | undefined;
}

/** Runs ldapsearch with LDIF output (-LLL plus result comments off) and parses what it printed. */
export function ldapsearch(args: string[], env: Record<string, string> = {}): Promise<LdapsearchResult> {
  return new Promise((resolve) => {
    execFile('ldapsearch', args, { env: { ...process.env, LDAPTLS_REQCERT: 'never', ...env }, timeout: 20_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      const match = /^result: (\d+)/m.exec(stdout);
      resolve({ code, stdout, stderr, entries: parseLdif(stdout), result: match ? Number(match[1]) : undefined });
    });
  });
}

/** Minimal LDIF reader: folded lines, `attr:: base64`, comments. Binary values come back base64-encoded with a `base64:` prefix. */
export function parseLdif(text: string): LdifEntry[] {
  const unfolded = text.replace(/\r?\n /g, '');
  const entries: LdifEntry[] = [];
  for (const block of unfolded.split(/\n\s*\n/)) {
    const lines = block.split('\n').filter((l) => l && !l.startsWith('#'));
    if (lines.length === 0 || !/^dn::?( |$)/.test(lines[0]!)) continue;
    const value = (line: string) => {
      const b64 = /^[^:]+:: (.*)$/.exec(line);
      if (b64) {
        const bytes = Buffer.from(b64[1]!, 'base64');
        const textValue = bytes.toString('utf8');
        return Buffer.from(textValue, 'utf8').equals(bytes) ? textValue : `base64:${b64[1]}`;
      }
      return line.includes(': ') ? line.slice(line.indexOf(': ') + 2) : '';
    };
    const entry: LdifEntry = { dn: value(lines[0]!), attrs: {} };
    for (const line of lines.slice(1)) {
      const name = line.slice(0, line.indexOf(':'));
      (entry.attrs[name] ??= []).push(value(line));
    }
    entries.push(entry);
  }
  return entries;
}

// ---- ldapjs client ----

export interface ClientSearchResult {
  entries: LdifEntry[];
  code: number;
  message: string;
  /** The paged results cookie of the searchResultDone, when it carried the control. */
  cookie?: Buffer;
}

export class LdapTestClient {
  readonly client: ldap.Client;

  constructor(url: string, options: Partial<ldap.ClientOptions> = {}) {
    this.client = ldap.createClient({ url, timeout: 10_000, connectTimeout: 5_000, tlsOptions: { rejectUnauthorized: false }, ...options });
    this.client.on('error', () => {});
  }

  /** Resolves to the bind's result code (0 on success) and message. */
  bind(dn: string, password: string): Promise<{ code: number; message: string }> {
    return new Promise((resolve) => {
      this.client.bind(dn, password, (error) => {
        resolve(error ? { code: (error as { code?: number }).code ?? -1, message: error.message } : { code: 0, message: '' });
      });
    });
  }

  search(base: string, options: ldap.SearchOptions = {}, controls: ldap.Control[] = []): Promise<ClientSearchResult> {
    return new Promise((resolve, reject) => {
      const entries: LdifEntry[] = [];
      this.client.search(base, { scope: 'sub', ...options }, controls, (error, res) => {
        if (error) return reject(error);
        res.on('searchEntry', (entry) => {
          const attrs: Record<string, string[]> = {};
          for (const attribute of entry.attributes) {
            const binary = /photo/i.test(attribute.type);
            attrs[attribute.type] = binary ? attribute.buffers.map((b) => `base64:${b.toString('base64')}`) : ([] as string[]).concat(attribute.values).map(String);
          }
          entries.push({ dn: String(entry.objectName ?? ''), attrs });
        });
        const finish = (result: { status?: number; code?: number; errorMessage?: string; message?: string; controls?: ldap.Control[]; lde_message?: string } | null) => {
          const paged = result?.controls?.find((c) => c.type === '1.2.840.113556.1.4.319') as { value?: { cookie?: Buffer } } | undefined;
          resolve({
            entries,
            code: result?.status ?? result?.code ?? 0,
            message: result?.lde_message ?? result?.errorMessage ?? result?.message ?? '',
            ...(paged?.value?.cookie !== undefined ? { cookie: paged.value.cookie } : {}),
          });
        };
        res.on('end', (result) => finish(result as never));
        res.on('error', (err) => finish(err as never));
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.client.unbind(() => {
        this.client.destroy();
        resolve();
      });
    });
  }
}

export function pagedControl(size: number, cookie: Buffer = Buffer.alloc(0)): ldap.Control {
  const Control = (ldap as unknown as { PagedResultsControl: new (options: { value: { size: number; cookie: Buffer } }) => ldap.Control }).PagedResultsControl;
  return new Control({ value: { size, cookie } });
}

// ---- raw bytes ----

/** Sends bytes on a fresh TCP connection; resolves with what came back before the server closed or `waitMs` passed. */
export function rawExchange(port: number, bytes: Buffer, waitMs = 1000): Promise<{ received: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), closed });
    }, waitMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks), closed });
    });
    socket.on('connect', () => socket.write(bytes));
  });
}

// ---- seeding ----

export interface GalSeed {
  kind?: 'person' | 'group' | 'resource';
  email?: string;
  displayName: string;
  givenName?: string;
  surname?: string;
  title?: string;
  department?: string;
  company?: string;
  office?: string;
  businessPhone?: string;
  mobilePhone?: string;
  managerEmail?: string;
  photo?: Buffer;
  photoType?: 'image/jpeg' | 'image/png';
  hidden?: boolean;
  deleted?: boolean;
  resourceType?: 'room' | 'equipment';
  capacity?: number;
  location?: string;
  aliases?: string[];
  /** LDAP cn values (common_names). */
  commonNames?: string[];
  /** Member emails (groups). */
  members?: string[];
}

/**
 * Writes GAL rows straight into the directory tables (the LDAP door only
 * reads them). An entry whose email already exists (an account's) is
 * updated in place. Returns email-or-display-name → id.
 */
export async function seedGal(db: Db, domain: string, seeds: GalSeed[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const { rows } = await sql<{ id: string }>`select id from domains where name = ${domain}`.execute(db);
  let domainId = rows[0]?.id;
  if (!domainId) {
    domainId = (await sql<{ id: string }>`insert into domains (name) values (${domain}) returning id`.execute(db)).rows[0]!.id;
  }
  for (const seed of seeds) {
    const email = seed.email?.toLowerCase() ?? null;
    const values = {
      kind: seed.kind ?? 'person',
      display_name: seed.displayName,
      common_names: seed.commonNames ?? null,
      given_name: seed.givenName ?? null,
      surname: seed.surname ?? null,
      title: seed.title ?? null,
      department: seed.department ?? null,
      company: seed.company ?? null,
      office: seed.office ?? null,
      business_phone: seed.businessPhone ?? null,
      mobile_phone: seed.mobilePhone ?? null,
      photo: seed.photo ?? null,
      photo_type: seed.photo ? (seed.photoType ?? 'image/jpeg') : null,
      hidden: seed.hidden ?? false,
      deleted: seed.deleted ?? false,
      deleted_at: seed.deleted ? new Date() : null,
      resource_type: seed.resourceType ?? null,
      capacity: seed.capacity ?? null,
      location: seed.location ?? null,
    };
    const existing = email
      ? (await sql<{ id: string }>`select id from directory_entries where domain_id = ${domainId} and email = ${email} and not deleted`.execute(db)).rows[0]
      : undefined;
    let id: string;
    if (existing) {
      await db.updateTable('directory_entries').set(values).where('id', '=', existing.id).execute();
      id = existing.id;
    } else {
      const inserted = await db
        .insertInto('directory_entries')
        .values({ ...values, domain_id: domainId, email, modseq: 1, created_modseq: 1 } as never)
        .returning('id')
        .executeTakeFirstOrThrow();
      id = inserted.id;
    }
    ids.set(email ?? seed.displayName, id);
    for (const alias of seed.aliases ?? []) {
      await sql`insert into directory_aliases (domain_id, alias, entry_id) values (${domainId}, ${alias.toLowerCase()}, ${id}) on conflict do nothing`.execute(db);
    }
  }
  for (const seed of seeds) {
    const id = ids.get(seed.email?.toLowerCase() ?? seed.displayName)!;
    if (seed.managerEmail) await sql`update directory_entries set manager_id = ${ids.get(seed.managerEmail.toLowerCase())!} where id = ${id}`.execute(db);
    for (const member of seed.members ?? []) {
      await sql`insert into directory_members (group_id, member_id) values (${id}, ${ids.get(member.toLowerCase()) ?? ids.get(member)!}) on conflict do nothing`.execute(db);
    }
  }
  // Raw rows bypass the repository: compute their search terms as it would.
  await refreshSearchTerms(db, [...ids.values()]);
  return ids;
}

/**
 * A filter as the door decodes it (ldap-request.ts): an ldapjs filter, or its
 * string form parsed by ldapjs, encoded to BER the way a client sends it.
 */
export function filterNode(filter: string | { toBer(): { buffer: Buffer } }): FilterNode {
  const ber = (typeof filter === 'string' ? (ldap.parseFilter(filter) as unknown as { toBer(): { buffer: Buffer } }) : filter).toBer().buffer;
  return decodeFilter(new BerReader(ber, 0, ber.length), 1);
}
