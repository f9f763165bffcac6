import type { Db } from '../db/database.ts';
import { parseAttributeSelection, type AttributeSelection } from './ldap-attributes.ts';
import { galBaseDn, isUuid, locateDn, normaliseDn, parseDn, type DnLocation } from './ldap-dn.ts';
import { galEntry, rowNeeds, type OutgoingEntry } from './ldap-entry.ts';
import { checkFilterLimits, filterToString, type FilterNode } from './ldap-filter.ts';
import { filterStatement } from './ldap-filter-sql.ts';
import type { LdapIndex } from './ldap-index.ts';
import { compileIndexFilter } from './ldap-index-filter.ts';
import { IndexDeadlineError } from './ldap-index-filter-search.ts';
import { wantedAttributes } from './ldap-index-snapshot.ts';
import { mayReadDomain, type LdapIdentity } from './ldap-identity.ts';
import { DOMAIN_CACHE_MS, LARGE_ROWS_PER_READ, MAX_NAMING_CONTEXTS, MAX_REMEMBERED_BASES, type LdapLimits } from './ldap-limits.ts';
import { matchesEntry, syntheticEntry } from './ldap-match.ts';
import { decodeCookie, encodeCookie, searchFingerprint, type PageCursor } from './ldap-paging.ts';
import { LdapError, ResultCode } from './ldap-result.ts';
import { findDomainId, galEntryExists, listDomainNames, readGalVersion, searchGal, setStatementTimeout, type GalVersion } from './ldap-search.repository.ts';
import { readPrivileges } from '../accounts/account.repository.ts';
import type { DirectoryReadLease } from '../cluster/directory-read-lease.ts';
import { FreshReads } from '../cluster/fresh-reads.ts';
import { galBaseEntry, rootDse, subschemaEntry, syntheticToEntry, type Synthetic } from './ldap-special-entries.ts';

export type SearchScope = 'base' | 'one' | 'sub';

export interface LdapSearchRequest {
  base: string;
  scope: SearchScope;
  filter: FilterNode;
  attributes: string[];
  typesOnly: boolean;
  /** The client's size limit; 0 = none (dmci's own cap still applies). */
  sizeLimit: number;
  /** The client's time limit in seconds; 0 = none. */
  timeLimitSeconds: number;
  /** The paged results control, when the client sent one. */
  paged?: { size: number; cookie: Buffer };
}

/**
 * Whether the connection can take more of an answer now: undefined when it
 * can, else a promise that settles once it can, or at `until` at the latest
 * (rejected when the connection is gone).
 */
export type Room = (until: number) => Promise<void> | undefined;

export interface LdapSearchDone {
  code: ResultCode;
  message: string;
  /** Set (possibly empty) when the request was paged: the cookie for the next page. */
  cookie?: Buffer;
}

/**
 * Answers searches: resolves the base DN in dmci's tree (ldap-dn.ts), checks
 * the caller may read that domain, and pages through matching entries from
 * the node's index or with SQL (one query per page; sub-pages when rows
 * carry photos or members), never holding the directory in memory.
 * Size and time limits are dmci's own, since ldapjs enforces neither.
 */
export class LdapSearch {
  private readonly domainIds = new Map<string, { id: string; at: number }>();
  private readonly locations = new Map<string, DnLocation>();
  /** The domain's GAL scope version, for the index's freshness check. */
  private readonly galVersion: (domainId: string) => Promise<GalVersion | undefined>;
  /** A bound account's role, state and password date, checked before every search. */
  private readonly privileges: (accountId: string) => Promise<Awaited<ReturnType<typeof readPrivileges>>>;

  /**
   * `db` is the LDAP door's own pool: its connections carry statement_timeout = limits.maxTimeMs.
   * `index`: the node's in-memory GAL index, which answers the searches it can when it is current.
   * `lease`: the node's directory read lease; with it, the version and privilege reads above are
   * answered from reads made less than DMCI_DIRECTORY_READ_WINDOW_MS ago (writers wait that long
   * before acknowledging, cluster/directory-read-lease.ts); without it, each search reads both.
   */
  constructor(private readonly deps: { db: Db; limits: LdapLimits; vendorVersion: string; supportedExtensions?: string[]; index?: LdapIndex; lease?: DirectoryReadLease }) {
    const { db, lease } = deps;
    const readVersion = (domainId: string) => readGalVersion(db, domainId);
    const readAccount = (accountId: string) => readPrivileges(db, accountId);
    if (lease) {
      const versions = new FreshReads(lease, readVersion);
      const accounts = new FreshReads(lease, readAccount);
      this.galVersion = (domainId) => versions.get(domainId);
      this.privileges = (accountId) => accounts.get(accountId);
    } else {
      this.galVersion = readVersion;
      this.privileges = readAccount;
    }
  }

  async search(identity: LdapIdentity | undefined, request: LdapSearchRequest, send: (entry: OutgoingEntry) => void, room?: Room): Promise<LdapSearchDone> {
    const { limits } = this.deps;
    const started = Date.now();
    const clientTimeMs = request.timeLimitSeconds > 0 ? request.timeLimitSeconds * 1000 : Infinity;
    const deadline = started + Math.min(clientTimeMs, limits.maxTimeMs);
    checkFilterLimits(request.filter, { maxDepth: limits.maxFilterDepth });
    const selection = parseAttributeSelection(request.attributes);
    const location = this.locate(request.base);

    // The account check runs beside the search, on another pooled connection (one round trip
    // less per search): nothing is sent before it passes, and its refusal wins over any other answer.
    const checked = this.checkAccount(identity);
    checked.catch(() => {}); // awaited on every path below; this only keeps an early failure from being reported as unhandled
    try {
      const done = await this.searchChecked(identity, request, { location, selection, deadline, clientTimeMs, checked, room }, send);
      await checked;
      return done;
    } catch (error) {
      await checked;
      throw error;
    }
  }

  private async searchChecked(
    identity: LdapIdentity | undefined,
    request: LdapSearchRequest,
    context: { location: DnLocation; selection: AttributeSelection; deadline: number; clientTimeMs: number; checked: Promise<void>; room: Room | undefined },
    send: (entry: OutgoingEntry) => void,
  ): Promise<LdapSearchDone> {
    const { limits } = this.deps;
    const { location, selection, deadline, clientTimeMs, checked, room } = context;
    const sendSynthetic = (entry: Synthetic, lenient: boolean) => {
      if (matchesEntry(request.filter, syntheticEntry(entry.attributes))) send(syntheticToEntry(entry, selection, request.typesOnly, lenient));
    };
    const done = (code: ResultCode = ResultCode.success, message = ''): LdapSearchDone =>
      request.paged ? { code, message, cookie: Buffer.alloc(0) } : { code, message };

    // Before anything that depends on who is bound, the root DSE's namingContexts included.
    if (location.kind === 'root' || location.kind === 'subschema') await checked;
    if (location.kind === 'root') {
      if (request.scope !== 'base') throw new LdapError(ResultCode.noSuchObject, 'the root DSE has no children: search a naming context (see namingContexts)');
      sendSynthetic(rootDse(await this.namingContexts(identity), this.deps.vendorVersion, this.deps.supportedExtensions), true);
      return done();
    }
    if (location.kind === 'subschema') {
      if (request.scope !== 'one') sendSynthetic(subschemaEntry(), true);
      return done();
    }
    if (!identity && !limits.allowAnonymous) {
      throw new LdapError(ResultCode.insufficientAccessRights, 'bind first: anonymous access to the GAL is disabled');
    }
    if (location.kind === 'outside' && location.domain === undefined) {
      throw new LdapError(ResultCode.noSuchObject, `no such entry; dmci serves ${identity ? galBaseDn(identity.domain) : 'ou=gal,dc=<domain>'} (see namingContexts)`);
    }
    const domain = location.domain!;
    // Another tenant's GAL does not exist as far as this caller can tell.
    if (identity && !mayReadDomain(identity, domain)) throw new LdapError(ResultCode.noSuchObject, 'no such entry');

    try {
      const domainId = this.cachedDomainId(domain) ?? (await this.domainId(domain));
      if (!domainId) throw new LdapError(ResultCode.noSuchObject, 'no such entry');
      if (location.kind === 'outside') throw new LdapError(ResultCode.noSuchObject, 'no such entry', galBaseDn(domain));
      const below = (db: Db) => this.searchBelowBase(db, identity, request, { location, selection, domain, domainId, deadline, checked, room }, send);
      // The LDAP pool's statement_timeout is dmci's cap; only a client asking for less needs a transaction to lower it.
      if (clientTimeMs >= limits.maxTimeMs) return await below(this.deps.db);
      return await this.deps.db.transaction().execute(async (trx) => {
        await setStatementTimeout(trx, deadline - Date.now());
        return below(trx);
      });
    } catch (error) {
      // PostgreSQL's statement_timeout, or the index's walk past the deadline.
      if ((error as { code?: string }).code === '57014' || error instanceof IndexDeadlineError) {
        return done(ResultCode.timeLimitExceeded, `search took longer than ${Math.min(clientTimeMs, limits.maxTimeMs)} ms`);
      }
      throw error;
    }
  }

  /** A search based at a domain's GAL base or at one of its entries. */
  private async searchBelowBase(
    db: Db,
    identity: LdapIdentity | undefined,
    request: LdapSearchRequest,
    context: {
      location: Extract<DnLocation, { kind: 'base' | 'entry' }>;
      selection: AttributeSelection;
      domain: string;
      domainId: string;
      deadline: number;
      checked: Promise<void>;
      room: Room | undefined;
    },
    send: (entry: OutgoingEntry) => void,
  ): Promise<LdapSearchDone> {
    const { location, selection, domain, domainId, checked } = context;
    const done = (): LdapSearchDone => (request.paged ? { code: ResultCode.success, message: '', cookie: Buffer.alloc(0) } : { code: ResultCode.success, message: '' });
    // The SQL translation only when SQL answers (the index answers most searches without it).
    const statement = () => filterStatement(request.filter, { domainId, domain });
    const needs = rowNeeds(selection);
    const toEntry = (row: Parameters<typeof galEntry>[0]) => galEntry(row, domain, selection, request.typesOnly);

    if (location.kind === 'entry') {
      if ((location.by === 'uid' && !isUuid(location.value)) || !(await galEntryExists(db, domainId, location.by, location.value))) {
        throw new LdapError(ResultCode.noSuchObject, 'no such entry', galBaseDn(domain));
      }
      if (request.scope !== 'one') {
        const rows = await searchGal(db, { domainId, where: statement().where, only: { by: location.by, value: location.value }, limit: 1, needs });
        await checked;
        for (const row of rows) send(toEntry(row));
      }
      return done();
    }

    // The base entry itself is only in a base or subtree search's answer.
    const base = request.scope === 'one' ? undefined : galBaseEntry(domain);
    const baseMatches = base !== undefined && matchesEntry(request.filter, syntheticEntry(base.attributes));
    if (request.scope === 'base') {
      await checked;
      if (baseMatches) send(syntheticToEntry(base, selection, request.typesOnly, false));
      return done();
    }
    // The index holds entries without photos and members, and renders values, not bare types.
    const index = this.deps.index;
    const indexFilter = index?.enabled && !needs.photo && !needs.members && !request.typesOnly ? compileIndexFilter(request.filter) : undefined;
    const view = indexFilter ? await index!.view(domainId, domain, await this.galVersion(domainId)) : undefined;
    const sqlStatement = view ? undefined : statement();
    return this.page(request, {
      who: identity?.accountId ?? '',
      deadline: context.deadline,
      baseEntry: baseMatches ? syntheticToEntry(base, selection, request.typesOnly, false) : undefined,
      rows: async (after, limit) => {
        if (view) {
          const found = await view.lookup(indexFilter!, after?.id, limit, wantedAttributes(selection), context.deadline);
          await checked;
          return found;
        }
        const rows = await searchGal(db, { domainId, where: sqlStatement!.where, after, limit, needs, prepared: sqlStatement!.genericPlan });
        await checked;
        return rows.map((row) => Object.assign(toEntry(row), { id: row.id }));
      },
      // Photos and members make rows large: read them a few at a time.
      rowsPerRead: view || (!needs.photo && !needs.members) ? Infinity : LARGE_ROWS_PER_READ,
      send,
      room: context.room,
    });
  }

  /**
   * A bound connection keeps its rights only while its account is enabled,
   * its password unchanged and its role and domain as they were at bind time,
   * checked before every search: a disabled or demoted account (a user's or
   * an admin's) loses its reach with the first search after the change was
   * acknowledged, on every node (the read may be one the node's read lease
   * still trusts; account writes wait for that window).
   */
  private async checkAccount(identity: LdapIdentity | undefined): Promise<void> {
    if (!identity) return;
    const now = await this.privileges(identity.accountId);
    if (!now?.enabled || now.password_changed_at.getTime() !== identity.passwordChangedAt.getTime() || now.role !== identity.role || now.domain_id !== identity.domainId) {
      throw new LdapError(ResultCode.insufficientAccessRights, 'the bound account was disabled, its password or role changed: bind again');
    }
  }

  /**
   * Where a base DN falls in dmci's tree, parsed once per distinct text:
   * clients search the same few bases over and over. Bounded: cleared when full.
   */
  private locate(base: string): DnLocation {
    let location = this.locations.get(base);
    if (location === undefined) {
      location = locateDn(parseDn(base));
      if (this.locations.size >= MAX_REMEMBERED_BASES) this.locations.clear();
      this.locations.set(base, location);
    }
    return location;
  }

  /** A domain's id when it was read less than DOMAIN_CACHE_MS ago (no await on a search's usual path). */
  private cachedDomainId(name: string): string | undefined {
    const cached = this.domainIds.get(name);
    return cached && Date.now() - cached.at < DOMAIN_CACHE_MS ? cached.id : undefined;
  }

  /** Domain ids by name; only found ones are remembered, so a new domain is seen at once. */
  private async domainId(name: string): Promise<string | undefined> {
    const cached = this.cachedDomainId(name);
    if (cached) return cached;
    const id = await findDomainId(this.deps.db, name);
    if (id) this.domainIds.set(name, { id, at: Date.now() });
    else this.domainIds.delete(name);
    return id;
  }

  /**
   * A one- or sub-level search under a GAL base: the base entry itself (sub
   * scope, first page only), then rows in key order, within the page size,
   * the client's size limit (across pages) and dmci's cap. Rows are read
   * `rowsPerRead` at a time (large rows: LARGE_ROWS_PER_READ), each read only
   * once the connection has room (`room`), so what one search holds is one
   * read's rows and what its connection already queued, not its page.
   */
  private async page(
    request: LdapSearchRequest,
    context: {
      who: string;
      deadline: number;
      baseEntry: OutgoingEntry | undefined;
      /** Entries in id order after `after`, with their ids (the cursor of a page's last one). */
      rows: (after: PageCursor['after'], limit: number) => Promise<ReadonlyArray<OutgoingEntry & { readonly id: string }>>;
      rowsPerRead: number;
      send: (entry: OutgoingEntry) => void;
      room: Room | undefined;
    },
  ): Promise<LdapSearchDone> {
    const { limits } = this.deps;
    const clientLimit = request.sizeLimit > 0 ? request.sizeLimit : Infinity;
    // Only a paged search has a cookie to check or issue (a hash per search otherwise).
    const fingerprint = () =>
      searchFingerprint({
        who: context.who,
        base: normaliseDn(parseDn(request.base)),
        scope: request.scope,
        filter: filterToString(request.filter),
        attributes: request.attributes,
        typesOnly: request.typesOnly,
        sizeLimit: request.sizeLimit,
      });
    const paged = request.paged;
    const finished = (code: ResultCode, message = ''): LdapSearchDone => (paged ? { code, message, cookie: Buffer.alloc(0) } : { code, message });
    if (paged && paged.size <= 0) return finished(ResultCode.success); // RFC 2696 §6: size 0 abandons the search
    const cursor = paged && paged.cookie.length > 0 ? decodeCookie(paged.cookie, fingerprint()) : undefined;
    const sentBefore = cursor?.sent ?? 0;
    const budget = paged ? Math.min(paged.size, limits.maxSize, clientLimit - sentBefore) : Math.min(clientLimit, limits.maxSize);
    if (budget <= 0) return this.limitDone(request, 'client');

    let sent = 0;
    let baseEntry = cursor ? undefined : context.baseEntry;
    /** Rows this page may still send, and the last one sent (the next read starts after it). */
    let room = budget - (baseEntry ? 1 : 0);
    let after = cursor?.after;
    for (;;) {
      // Each read waits until the connection has room: while it waits, the search holds no rows.
      const waiting = context.room?.(context.deadline);
      if (waiting) await waiting;
      if (Date.now() > context.deadline) return finished(ResultCode.timeLimitExceeded, 'time limit reached');
      const take = Math.min(room, context.rowsPerRead);
      const lastRead = take === room;
      // The page's last read asks for one more row: whether one is left decides between done and a cookie.
      // Rows first: `rows` resolves only once the bound account's check passed, and nothing goes out before.
      const rows = await context.rows(after, lastRead ? take + 1 : take);
      if (baseEntry) {
        context.send(baseEntry);
        baseEntry = undefined;
        sent++;
      }
      const sending = Math.min(take, rows.length);
      for (let n = 0; n < sending; n++) {
        if (Date.now() > context.deadline) return finished(ResultCode.timeLimitExceeded, 'time limit reached');
        context.send(rows[n]!);
        sent++;
      }
      room -= sending;
      // The cursor: the last entry sent (its id is made now: index entries make it on demand).
      if (sending > 0) after = { id: rows[sending - 1]!.id };
      if (rows.length < take || (lastRead && rows.length === take)) return finished(ResultCode.success);
      if (lastRead) break;
    }
    const total = sentBefore + sent;
    if (paged && total < clientLimit) {
      return { code: ResultCode.success, message: '', cookie: encodeCookie(fingerprint(), { ...(after ? { after } : {}), sent: total }) };
    }
    return this.limitDone(request, total >= clientLimit ? 'client' : 'size');
  }

  private limitDone(request: LdapSearchRequest, which: 'client' | 'size'): LdapSearchDone {
    const message =
      which === 'client' ? `size limit of ${request.sizeLimit} reached` : `more than ${this.deps.limits.maxSize} entries match: narrow the filter or use the paged results control`;
    return { code: ResultCode.sizeLimitExceeded, message, ...(request.paged ? { cookie: Buffer.alloc(0) } : {}) };
  }

  /**
   * A bound user sees their own domain's base; a global admin every domain's.
   * Before a bind, domains are not advertised, unless anonymous access is on
   * (then every GAL is open anyway).
   */
  private async namingContexts(identity: LdapIdentity | undefined): Promise<string[]> {
    if (!identity && !this.deps.limits.allowAnonymous) return [];
    if (identity && identity.role !== 'global_admin') return [galBaseDn(identity.domain)];
    return (await listDomainNames(this.deps.db, MAX_NAMING_CONTEXTS)).map(galBaseDn);
  }
}
