import pg from 'pg';

/**
 * Named prepared statements for the hot read paths (an LDAP search, a
 * `Directory/query`), opted into per statement.
 *
 * PostgreSQL plans an unnamed statement on every execution; for the GAL's
 * searches that planning (~0.5 ms: unions of index ranges, semi-joins) cost
 * as much as running them. A select marked with the PREPARED comment right after `select` is
 * instead sent as a named statement: parsed once per connection, and after
 * five executions PostgreSQL may keep a generic plan and skip planning
 * (plan_cache_mode = auto: only when the generic plan is estimated no worse
 * than the custom ones, so a statement whose best plan depends on its values
 * keeps being planned). Statements opt in rather than every query being
 * prepared, because a generic plan is only safe for shapes written for it
 * (index range bounds as parameters, not `like $1`, which no generic plan can
 * turn into a range).
 *
 * Bounded: each connection prepares at most `maxPerConnection` distinct texts
 * (LDAP filter shapes come from clients); later ones run unnamed. Pools
 * using this also retire connections after a number of uses, which releases
 * their statements (see createDatabase's `prepared`).
 */
export const PREPARED = '/* prepared */';
/**
 * How a marked statement's text starts: kysely's `modifyFront(sql.raw(PREPARED))` writes the first;
 * a raw statement with common table expressions (the rights query) the second.
 */
const MARKED = [`select ${PREPARED} `, `with ${PREPARED} `];

/** Is `text` marked PREPARED (leading white space aside: a multi-line sql`…` template starts with a newline)? */
function isMarked(text: string): boolean {
  let i = 0;
  while (i < text.length && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x0a)) i++;
  return MARKED.some((m) => text.startsWith(m, i));
}

/** Distinct prepared statement texts per database connection (the rest run unnamed). */
export const PREPARED_PER_CONNECTION = 100;
/** Checkouts after which a pooled connection is replaced, dropping its prepared statements. */
export const PREPARED_CONNECTION_USES = 10_000;
/** The pool option for createDatabase: both limits above. */
export const PREPARED_STATEMENTS = { maxPerConnection: PREPARED_PER_CONNECTION, maxUses: PREPARED_CONNECTION_USES } as const;

export interface PreparedStatementsOptions {
  /** Distinct statement texts one connection prepares. */
  maxPerConnection: number;
}

type Query = (...args: unknown[]) => unknown;

/** A pg Client class that runs PREPARED statements as named ones. */
export function preparingClient(options: PreparedStatementsOptions): typeof pg.Client {
  return class PreparingClient extends pg.Client {
    constructor(...config: ConstructorParameters<typeof pg.Client>) {
      super(...config);
      const names = new Map<string, string>();
      const nameFor = (text: string): string | undefined => {
        const known = names.get(text);
        if (known || names.size >= options.maxPerConnection) return known;
        const name = `dmci_${names.size}`;
        names.set(text, name);
        return name;
      };
      // pg's query() has many forms: only (text, values) with a marked text is rewritten, the rest pass through.
      const query = (this.query as Query).bind(this);
      (this as unknown as { query: Query }).query = (...args: unknown[]) => {
        const [text, values] = args;
        const name = args.length === 2 && typeof text === 'string' && Array.isArray(values) && isMarked(text) ? nameFor(text) : undefined;
        return name ? query({ name, text, values }) : query(...args);
      };
    }
  };
}
