import type { Query } from "drizzle-orm";
import type { PgRaw } from "drizzle-orm/pg-core/query-builders/raw";
import type { Tx } from "./client";

/** What drizzle's prepared query keeps besides its text: how to turn rows into objects. */
interface Compiled {
  query: Query;
  fields: unknown;
  joinsNotNullableMap: unknown;
  customResultMapper: unknown;
  arrayMode: boolean;
}

/** The part of drizzle's postgres.js session (`db.session`, internal) this uses. */
interface Session {
  prepareQuery(
    query: Query,
    fields: unknown,
    name: undefined,
    isResponseInArrayMode: boolean,
    customResultMapper: unknown,
  ): { execute(values: Record<string, unknown>): Promise<unknown>; joinsNotNullableMap?: unknown };
}

/** A drizzle query builder that can be prepared (select, insert, update, delete). */
interface Preparable {
  prepare(name?: string): { execute(values?: Record<string, unknown>): Promise<unknown> };
}
/** Or a statement of raw SQL (`db.execute(sql`…`)`), placeholders allowed. */
type Built = Preparable | PgRaw<unknown>;

type ResultOf<B extends Built> = B extends Preparable
  ? Awaited<ReturnType<ReturnType<B["prepare"]>["execute"]>>
  : Awaited<B>;

/**
 * A statement whose text is built once. Drizzle builds a query's SQL text anew on every run (for a
 * read of a wide row that was an eighth of the API's CPU per request, profiled); a hot statement
 * written with `build`, its values as `sql.placeholder("name")`, is built the first time it runs and
 * afterwards only bound: `run(tx, { name: value })`, in any transaction (or the pool itself), with
 * drizzle's own mapping of rows to objects. `build` must give the same text every time: a query
 * whose shape depends on the input (an optional filter) is one statement per shape.
 */
export function statement<B extends Built>(
  build: (db: Tx) => B,
): (db: Tx, values?: Record<string, unknown>) => Promise<ResultOf<B>> {
  let compiled: Compiled | undefined;
  return (db, values = {}) => {
    if (!compiled) {
      const built = build(db);
      const prepared = ("prepare" in built ? built.prepare() : built) as unknown as Compiled & {
        getQuery(): Query;
      };
      compiled = {
        query: prepared.getQuery(),
        fields: prepared.fields,
        joinsNotNullableMap: prepared.joinsNotNullableMap,
        customResultMapper: prepared.customResultMapper,
        arrayMode: "prepare" in built,
      };
    }
    const { query, fields, joinsNotNullableMap, customResultMapper, arrayMode } = compiled;
    const session = (db as unknown as { session: Session }).session;
    // Arguments as drizzle's own builders pass them; no name: the client (see `preparing`)
    // prepares every statement on its connection anyway.
    const prepared = session.prepareQuery(query, fields, undefined, arrayMode, customResultMapper);
    prepared.joinsNotNullableMap = joinsNotNullableMap;
    return prepared.execute(values) as Promise<ResultOf<B>>;
  };
}
