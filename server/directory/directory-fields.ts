import { ErrorCode, type DirectoryFields, type DirectoryKind } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';
import type { DirectoryEntryUpdate } from './directory.table.ts';
import { acceptPhoto } from './photo.ts';

/**
 * Protocol fields → column changes. Absent fields are left out, null clears.
 * Aliases, members and the manager need the database and are handled by
 * the callers.
 */
export function fieldsToColumns(fields: DirectoryFields): DirectoryEntryUpdate {
  const columns: DirectoryEntryUpdate = {};
  const set = <K extends keyof DirectoryEntryUpdate>(key: K, value: DirectoryEntryUpdate[K] | undefined) => {
    if (value !== undefined) columns[key] = value;
  };
  set('display_name', fields.displayName);
  set('common_names', fields.commonNames === undefined ? undefined : fields.commonNames?.length ? fields.commonNames : null);
  set('email', fields.email);
  set('given_name', fields.givenName);
  set('surname', fields.surname);
  set('title', fields.title);
  set('department', fields.department);
  set('company', fields.company);
  set('office', fields.office);
  set('business_phone', fields.businessPhone);
  set('mobile_phone', fields.mobilePhone);
  set('manager_id', fields.managerId);
  set('hidden', fields.hidden);
  set('resource_type', fields.resourceType);
  set('capacity', fields.capacity);
  set('location', fields.location);
  set('source_key', fields.sourceKey);
  if (fields.photo === null) Object.assign(columns, { photo: null, photo_type: null, photo_etag: null });
  else if (fields.photo !== undefined) {
    const photo = acceptPhoto(fields.photo);
    Object.assign(columns, { photo: photo.data, photo_type: photo.type, photo_etag: photo.etag });
  }
  return columns;
}

/** Rules that depend on the kind: only resources have a type and capacity; groups have no manager or photo of a person. */
export function checkKindColumns(kind: DirectoryKind, merged: { resource_type?: unknown; capacity?: unknown; manager_id?: unknown }): void {
  if (kind !== 'resource' && (merged.resource_type != null || merged.capacity != null)) {
    throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'only resources have a resourceType and a capacity');
  }
  if (kind === 'group' && merged.manager_id != null) {
    throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'a group has no manager');
  }
}

/** Aliases lower-cased, deduplicated, without the entry's own email. */
export function normalizeAliases(aliases: readonly string[], email: string | null | undefined): string[] {
  return [...new Set(aliases.map((a) => a.toLowerCase()))].filter((a) => a !== email).sort();
}
