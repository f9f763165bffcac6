import { CompiledQuery, type Compilable } from 'kysely';
import type { Db } from './database.ts';
import { holdsNul, nulError } from './nul-guard.ts';

/** Distinct shapes one statement keeps compiled; past it the memory starts over. */
const MAX_SHAPES = 256;

/** What a shape is compiled with in place of `key`: private-use characters, which no value a caller passes holds. */
const placeholder = (key: string) => `\uE000dmci-value:${key}\uE000`;
const PLACEHOLDER_MARK = '\uE000dmci-value:';

type Parameter<V> = { value: keyof V & string } | { constant: unknown };

/**
 * A statement built with kysely whose text depends only on its shape (which
 * parts it has), compiled once per shape with a placeholder for each value,
 * then run with the values. Building and compiling a query as large as
 * Directory/query's join cost ~0.3 ms of CPU per request, more than
 * PostgreSQL spent answering it.
 *
 * `build` must put each value into the statement as a parameter, unchanged
 * (compute derived values, such as a LIKE pattern, before): a value it
 * transforms or leaves out is refused when the shape is compiled. The NUL
 * check every statement gets (nul-guard.ts) runs on the values here.
 */
export class ShapedStatement<S, V extends Record<string, string | number>, R> {
  private readonly shapes = new Map<string, { sql: string; parameters: ReadonlyArray<Parameter<V>> }>();

  constructor(private readonly build: (db: Db, shape: S, values: V) => Compilable<R>) {}

  /** `shape` is everything the statement's text depends on (JSON-serialisable); `values`, everything else. */
  compile(db: Db, shape: S, values: V): CompiledQuery<R> {
    if (holdsNul(values)) throw nulError();
    const key = JSON.stringify(shape);
    let compiled = this.shapes.get(key);
    if (!compiled) {
      compiled = this.compileShape(db, shape, values);
      if (this.shapes.size >= MAX_SHAPES) this.shapes.clear();
      this.shapes.set(key, compiled);
    }
    return CompiledQuery.raw(
      compiled.sql,
      compiled.parameters.map((parameter) => ('value' in parameter ? values[parameter.value] : parameter.constant)),
    ) as CompiledQuery<R>;
  }

  private compileShape(db: Db, shape: S, values: V): { sql: string; parameters: ReadonlyArray<Parameter<V>> } {
    const keys = Object.keys(values) as Array<keyof V & string>;
    const byPlaceholder = new Map(keys.map((key) => [placeholder(key), key]));
    const query = this.build(db, shape, Object.fromEntries(keys.map((key) => [key, placeholder(key)])) as V).compile();
    const parameters = query.parameters.map((parameter): Parameter<V> => {
      const key = typeof parameter === 'string' ? byPlaceholder.get(parameter) : undefined;
      if (key !== undefined) return { value: key };
      if (typeof parameter === 'string' && parameter.includes(PLACEHOLDER_MARK)) throw new Error(`a value was transformed inside the statement: ${parameter}`);
      return { constant: parameter };
    });
    const used = new Set(parameters.flatMap((parameter) => ('value' in parameter ? [parameter.value] : [])));
    const unused = keys.filter((key) => !used.has(key));
    if (unused.length > 0) throw new Error(`values not in the statement as parameters: ${unused.join(', ')}`);
    return { sql: query.sql, parameters };
  }
}
