import type postgres from "postgres";

/**
 * Round trips to Postgres, fewest first. postgres.js sends a statement it has not prepared on the
 * connection as Parse + Describe, waits for the parameter types, then sends Bind + Execute: two
 * round trips, and nothing pipelined behind it. Prepared (named, once per connection and text), the
 * next run of the same text is one message sent without waiting, so statements queue back to back.
 * Drizzle prepares only queries given a name; `preparing` makes every parameterised statement
 * drizzle runs prepared. The texts are the code's own (values travel as parameters), so a
 * connection holds a bounded set, dropped when postgres.js recycles it (its `max_lifetime`).
 */
export function preparing(client: postgres.Sql | postgres.TransactionSql): postgres.Sql {
  const wrapped = {
    // drizzle reads the parsers and serializers (every scope of a client shares them).
    options: (client as postgres.Sql).options,
    unsafe: (query: string, params?: postgres.ParameterOrJSON<never>[], opts?: postgres.UnsafeQueryOptions) =>
      client.unsafe(query, params, { ...opts, prepare: true }),
    begin: (fn: (c: postgres.Sql) => Promise<unknown>) =>
      (client as postgres.Sql).begin((c) => fn(preparing(c))),
    savepoint: (fn: (c: postgres.Sql) => Promise<unknown>) =>
      (client as postgres.TransactionSql).savepoint((c) => fn(preparing(c))),
  };
  return wrapped as unknown as postgres.Sql;
}
