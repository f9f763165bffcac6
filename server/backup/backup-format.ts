/**
 * The dmci backup file (docs/operations.md § Backup and restore): gzip-
 * compressed JSON lines.
 *
 *   {"format":"dmci-backup","version":1,"dmci":"0.1.0","createdAt":"…","postgres":"18.1","migrations":["…"]}
 *   {"table":"domains","columns":["id","name",…]}
 *   {"id":"…","name":"example.com",…}            one line per row (row_to_json of the stored columns)
 *   ["end","domains",1]                          the table's end and row count (rows are objects, this is an array)
 *   …                                              every table, referenced tables first
 *   {"sequences":[{"name":"…","value":"42","called":true}]}
 *   {"complete":true,"tables":12,"rows":3456}
 *
 * Rows are PostgreSQL's own JSON rendering of each value and go back
 * through json_populate_recordset, so every type round-trips without dmci
 * interpreting it. The closing line proves the file is whole.
 */
export const BACKUP_FORMAT = 'dmci-backup';
export const BACKUP_FORMAT_VERSION = 1;

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: number;
  dmci: string;
  createdAt: string;
  postgres: string;
  /** The migrations applied to the database backed up, in order: its schema version. */
  migrations: string[];
}

export interface BackupSummary {
  file: string;
  tables: number;
  rows: number;
  migrations: number;
}
