import type { Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { Role } from '../../protocol/index.ts';

export interface AccountTable {
  id: Generated<string>;
  domain_id: string;
  email: string;
  display_name: string;
  password_hash: string;
  enabled: Generated<boolean>;
  role: Generated<Role>;
  /** BCP 47 tag, canonical (language.ts); null: not set. */
  language: Generated<string | null>;
  password_changed_at: Generated<Date>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}
export type AccountRow = Selectable<AccountTable>;
export type NewAccountRow = Insertable<AccountTable>;
export type AccountUpdate = Updateable<AccountTable>;

export interface ResumeTokenTable {
  token_hash: Buffer;
  account_id: string;
  session_id: string;
  client_name: string;
  created_at: Generated<Date>;
  expires_at: Date;
}
