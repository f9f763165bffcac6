import { ErrorCode } from '../../protocol/index.ts';
import type { AccountService, AccountWithDomain } from '../accounts/account.service.ts';
import { watchGroupAccess } from '../calendar/group-access.ts';
import type { Db } from '../db/database.ts';
import type { DomainService } from '../domains/domain.service.ts';
import { DmciError } from '../errors.ts';
import { galScope } from '../sync/scope-id.ts';
import { scopeWriterIn } from '../sync/scope-write.ts';
import { addressOwners, dependentsOf, findEntryByAccount, findEntryById, insertEntry, stampEntries, updateEntry } from './directory.repository.ts';

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
 * transaction), so they bump through the transaction's joined ScopeWriter
 * (scopeWriterIn), whose hint PostgreSQL delivers at commit. Account changes
 * are rare admin actions, so the NOTIFY's commit-time lock (DESIGN §4) costs
 * nothing here.
 */
export function registerAccountEntries(accounts: AccountService, domains: DomainService): void {
  domains.onDomainCreated(async (trx, domain) => {
    await scopeWriterIn(trx).create(galScope(domain.id));
  });
  accounts.onAccountCreated(syncAccountEntry);
  accounts.onAccountChanged(syncAccountEntry);
}

async function syncAccountEntry(trx: Db, account: AccountWithDomain): Promise<void> {
  const scope = galScope(account.domain_id);
  const disabled = !account.enabled;
  const existing = await findEntryByAccount(trx, account.id);
  if (existing && existing.display_name === account.display_name && existing.email === account.email && existing.account_disabled === disabled) return;

  const writer = scopeWriterIn(trx);
  const modseq = await writer.bump(scope);
  // An account that takes over a contact inherits its group memberships, and the grants they carry.
  const groupAccess = await watchGroupAccess(writer, account.domain_id);
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
  // Lists whose group-given access changed: bumped through the joined writer, announced at commit.
  await groupAccess?.();
}
