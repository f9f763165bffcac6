import type pg from 'pg';

/**
 * What a backup holds, read from PostgreSQL's catalog rather than listed by
 * hand, so a table a later migration adds is backed up without anyone
 * remembering to: every table in the public schema but kysely's own
 * bookkeeping, in foreign-key order (referenced tables first), with its
 * stored columns (generated ones are recomputed on restore) and any column
 * that references its own table (restored in a second pass).
 */

export interface TablePlan {
  name: string;
  /** Stored columns, in table order; generated columns left out. */
  columns: string[];
  /** Self-references: the referencing columns and the key columns they point at. */
  selfReferences: Array<{ columns: string[]; keys: string[] }>;
}

const BOOKKEEPING = new Set(['kysely_migration', 'kysely_migration_lock']);
/**
 * Run-time state that must not come back from a backup: logged-in console
 * browsers and the nodes' live reports (server/console/). A restore starts
 * with no one logged in and nodes that report afresh.
 */
export const VOLATILE_TABLES: ReadonlySet<string> = new Set(['console_sessions', 'cluster_nodes']);

export async function planTables(client: pg.ClientBase): Promise<TablePlan[]> {
  const tables = (await client.query<{ name: string }>(`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind in ('r', 'p') order by c.relname`)).rows
    .map((r) => r.name)
    .filter((name) => !BOOKKEEPING.has(name) && !VOLATILE_TABLES.has(name));
  const columns = await client.query<{ table: string; column: string }>(
    `select c.relname as table, a.attname as column from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and a.attnum > 0 and not a.attisdropped and a.attgenerated = '' order by c.relname, a.attnum`,
  );
  const foreignKeys = await client.query<{ table: string; referenced: string; columns: string[]; keys: string[] }>(
    `select c.relname as table, r.relname as referenced,
            array(select attname from unnest(k.conkey) with ordinality u(n, i) join pg_attribute on attrelid = k.conrelid and attnum = u.n order by u.i)::text[] as columns,
            array(select attname from unnest(k.confkey) with ordinality u(n, i) join pg_attribute on attrelid = k.confrelid and attnum = u.n order by u.i)::text[] as keys
       from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_class r on r.oid = k.confrelid join pg_namespace n on n.oid = c.relnamespace
      where k.contype = 'f' and n.nspname = 'public'`,
  );
  const plans = new Map<string, TablePlan>(tables.map((name) => [name, { name, columns: [], selfReferences: [] }]));
  for (const row of columns.rows) plans.get(row.table)?.columns.push(row.column);
  const dependsOn = new Map<string, Set<string>>(tables.map((name) => [name, new Set()]));
  for (const fk of foreignKeys.rows) {
    if (fk.table === fk.referenced) plans.get(fk.table)?.selfReferences.push({ columns: fk.columns, keys: fk.keys });
    else dependsOn.get(fk.table)?.add(fk.referenced);
  }
  return topologicalOrder(tables, dependsOn).map((name) => plans.get(name)!);
}

/** Referenced tables before the tables referencing them; ties by name, so the order is stable. */
function topologicalOrder(tables: string[], dependsOn: Map<string, Set<string>>): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (done.has(name)) return;
    if (visiting.has(name)) throw new Error(`foreign keys form a cycle through table ${name}: the backup cannot order it`);
    visiting.add(name);
    for (const dependency of [...(dependsOn.get(name) ?? [])].sort()) if (dependsOn.has(dependency)) visit(dependency);
    visiting.delete(name);
    done.add(name);
    order.push(name);
  };
  for (const name of tables) visit(name);
  return order;
}

/** A quoted SQL identifier. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Sequences in the public schema (none today: every key is a uuid), with their current state. */
export async function readSequences(client: pg.ClientBase): Promise<Array<{ name: string; value: string; called: boolean }>> {
  const names = (await client.query<{ name: string }>(`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind = 'S' order by 1`)).rows;
  const out = [];
  for (const { name } of names) {
    const { rows } = await client.query<{ value: string; called: boolean }>(`select last_value::text as value, is_called as called from ${ident(name)}`);
    out.push({ name, value: rows[0]!.value, called: rows[0]!.called });
  }
  return out;
}
