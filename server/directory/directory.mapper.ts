import type { AdminDirectoryEntry, DirectoryEntry } from '../../protocol/index.ts';
import type { EntryRow } from './directory.repository.ts';

/** Row → protocol entry as every reader sees it (the caller has filtered out invisible rows). */
export function toDirectoryEntry(row: EntryRow, aliases: readonly string[], memberIds: readonly string[] | undefined): DirectoryEntry {
  return {
    id: row.id,
    kind: row.kind,
    displayName: row.display_name,
    email: row.email,
    aliases: [...aliases],
    givenName: row.given_name,
    surname: row.surname,
    title: row.title,
    department: row.department,
    company: row.company,
    office: row.office,
    businessPhone: row.business_phone,
    mobilePhone: row.mobile_phone,
    managerId: row.visible_manager_id ?? null,
    isAccount: row.account_id !== null,
    photo: row.photo_type && row.photo_etag && row.photo_size ? { type: row.photo_type, size: row.photo_size, etag: row.photo_etag } : null,
    memberIds: row.kind === 'group' ? [...(memberIds ?? [])] : null,
    resourceType: row.resource_type,
    capacity: row.capacity,
    location: row.location,
    version: row.modseq,
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Row → what an admin sees: hidden flags, source key, the manager and members even when hidden. */
export function toAdminEntry(row: EntryRow, domain: string, aliases: readonly string[], memberIds: readonly string[] | undefined): AdminDirectoryEntry {
  return {
    ...toDirectoryEntry(row, aliases, memberIds),
    managerId: row.manager_id,
    domain,
    hidden: row.hidden,
    accountDisabled: row.account_disabled,
    sourceKey: row.source_key,
    commonNames: row.common_names ?? [],
  };
}
