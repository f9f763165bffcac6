import type { DirectoryKind } from '../../../protocol/index.ts';

/**
 * One entry as an import file describes it, before validation: what the CSV
 * and LDIF readers produce and the importer consumes. `fields` holds
 * Admin/directory* field values (validated with the protocol's
 * DirectoryFields schema, so an import accepts exactly what the API does);
 * a field set to null clears it, an absent one is left as it is.
 */
export interface SourceRecord {
  /** 1-based line where the record starts. */
  line: number;
  /** Absent: a person when created, the entry's kind when updated. */
  kind?: DirectoryKind;
  /** Who the record is: an email, else a source key (an LDIF DN, an HR id), or a dmci entry id (uid=<uuid> DNs from an export). */
  identity: { email?: string; sourceKey?: string; entryId?: string };
  /** A domain named by the record itself (an LDIF DN's dc= parts). */
  domainHint?: string;
  fields: Record<string, unknown>;
  /** Another entry by email or DN / source key; null clears the manager. */
  manager?: string | null;
  /** Group members by email or DN / source key. */
  members?: string[];
  /** `changetype: delete`. */
  delete?: boolean;
}

export interface SourceProblem {
  line: number;
  message: string;
}

/** What a reader gives: records, per-record problems, and problems that stop the whole file (a bad header). */
export interface SourceReadResult {
  records: SourceRecord[];
  problems: SourceProblem[];
  fatal?: SourceProblem;
  /** Attributes or columns the reader saw and deliberately ignored (LDIF carries many). */
  ignored?: string[];
}
