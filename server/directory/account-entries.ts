import { sql, type Transaction } from 'kysely';
import { ErrorCode } from '../../protocol/index.ts';
import type { AccountService, AccountWithDomain } from '../accounts/account.service.ts';
import { watchGroupAccess } from '../calendar/group-access.ts';
import { CHANNEL, formatHint } from '../cluster/cluster-bus.ts';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { DomainService } from '../domains/domain.service.ts';
import { DmciError } from '../errors.ts';
import { bumpScope, createScope } from '../sync/sync-scope.repository.ts';
import { addressOwners, dependentsOf, findEntryByAccount, findEntryById, insertEntry, stampEntries, updateEntry } from './directory.repository.ts';
import { galScopeId } from './directory.table.ts';

/**
 * Accounts appear in their domain's GAL by themselves: these hooks run inside
 * the transaction that creates a domain or creates/changes an account.
 *
 * Like Exchange, a disabled account is hidden from the GAL (account_disabled
 * mirrors accounts.enabled; the entry keeps its attributes and group
 * memberships and reappears when the account is enabled again). An account
 * created with the address of an existing external contact adopts that entry
 * (so an HR import made before the account keeps its attributes).
 *
 * The hooks cannot publish after commit (the account service owns the
 * transaction), so they send the hint with an in-transaction NOTIFY, which
 * PostgreSQL delivers at commit. Account changes are rare admin actions, so
 * the NOTIFY's commit-time lock (DESIGN §4) costs nothing here.
 */
export function registerAccountEntries(accounts: AccountService, domains: DomainService): void {
  domains.onDomainCreated(async (trx, domain) => {
    await createScope(trx, galScopeId(domain.id));
  });
  accounts.onAccountCreated((trx, account) => syncAccountEntry(trx as Transaction<Database>, account));
  accounts.onAccountChanged((trx, account) => syncAccountEntry(trx as Transaction<Database>, account));
}

async function syncAccountEntry(trx: Transaction<Database>, account: AccountWithDomain): Promise<void> {
  const scope = galScopeId(account.domain_id);
  const disabled = !account.enabled;
  const existing = await findEntryByAccount(trx, account.id);
  if (existing && existing.display_name === account.display_name && existing.email === account.email && existing.account_disabled === disabled) return;

  const modseq = await bumpScope(trx, scope);
  // An account that takes over a contact inherits its group memberships, and the grants they carry.
  const groupAccess = await watchGroupAccess(trx, account.domain_id);
  if (existing) {
    await updateEntry(trx, existing.id, { display_name: account.display_name, email: account.email, account_disabled: disabled }, modseq);
    if (existing.account_disabled !== disabled) await stampEntries(trx, await dependentsOf(trx, existing.id), modseq);
  } else {
    const owner = (await addressOwners(trx, account.domain_id, [account.email])).get(account.email);
    const contact = owner ? await findEntryById(trx, owner) : undefined;
    if (contact && contact.kind === 'person' && contact.account_id === null && contact.email === account.email) {
      await updateEntry(trx, contact.id, { account_id: account.id, display_name: account.display_name, account_disabled: disabled }, modseq);
    } else if (contact) {
      throw new DmciError(ErrorCode.ALREADY_EXISTS, `${account.email} already names a ${contact.kind} in the GAL`);
    } else {
      await insertEntry(trx, {
        domain_id: account.domain_id,
        kind: 'person',
        account_id: account.id,
        email: account.email,
        display_name: account.display_name,
        account_disabled: disabled,
        modseq,
        created_modseq: modseq,
        source_key: null,
        given_name: null,
        surname: null,
        title: null,
        department: null,
        company: null,
        office: null,
        business_phone: null,
        mobile_phone: null,
        manager_id: null,
        photo: null,
        photo_type: null,
        photo_etag: null,
        resource_type: null,
        capacity: null,
        location: null,
        deleted_at: null,
      });
    }
  }
  const published = new Map([[scope, modseq], ...((await groupAccess?.()) ?? [])]);
  for (const [id, value] of published) await sql`select pg_notify(${CHANNEL}, ${formatHint({ kind: 'scope', scope: id, modseq: value })})`.execute(trx as Db);
}
