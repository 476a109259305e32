import type { SQL } from "drizzle-orm";
import type { PgDialect } from "drizzle-orm/pg-core";
import { PostgresJsSession, PostgresJsTransaction } from "drizzle-orm/postgres-js";
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
export function preparing<C extends postgres.Sql | postgres.TransactionSql | postgres.ReservedSql>(
  client: C,
  savepoint: (fn: (c: postgres.Sql) => Promise<unknown>) => Promise<unknown> = (fn) =>
    (client as postgres.TransactionSql).savepoint((c) => fn(preparing(c))),
): postgres.Sql {
  const wrapped = {
    // drizzle reads the parsers and serializers (every scope of a client shares them).
    options: (client as postgres.Sql).options,
    unsafe: (query: string, params?: postgres.ParameterOrJSON<never>[], opts?: postgres.UnsafeQueryOptions) =>
      client.unsafe(query, params, { ...opts, prepare: true }),
    begin: (fn: (c: postgres.Sql) => Promise<unknown>) =>
      (client as postgres.Sql).begin((c) => fn(preparing(c))),
    savepoint,
  };
  return wrapped as unknown as postgres.Sql;
}

/** What a transaction runs just before COMMIT, in the same round trip; it returns the rows it wrote. */
export interface BeforeCommit {
  statement: SQL;
  /** Told whether the statement wrote a row, once COMMIT succeeded. */
  done(wroteRow: boolean): void;
}

/**
 * What a transaction is built from. Its `tx.query` (drizzle's relational queries) is left empty:
 * Berth uses none, and building it for every table on every transaction is a cost of the hot path.
 */
// biome-ignore lint/suspicious/noExplicitAny: drizzle's session options are its internals
type DrizzleInternals = { dialect: PgDialect; session: { options: any } };

/** A connection taken from the pool for one transaction, watched for its end. */
interface Reserved {
  /** Sends a statement now (in order), or fails at once if the connection has closed. */
  send(text: string, params?: unknown[]): Promise<postgres.RowList<postgres.Row[]>>;
  /** What drizzle's session calls: `unsafe` (every statement prepared) and `savepoint`. */
  client: postgres.Sql;
  /** Gives the connection back to the pool, unless it closed (the pool has it again then). */
  release(): void;
}

/**
 * Reserves a connection and sends BEGIN and `opening` on it at once (before any statement of the
 * transaction's code can be, so they always go first). A reserved connection that closed (Postgres
 * restarted, the backend was terminated) must not be written to or released: postgres.js would
 * write to its missing socket, and put it back among the idle ones. Its `onclose` tells us.
 */
async function reserve(
  client: postgres.Sql,
  opening: { text: string; params: string[] },
  onStatement: () => void = () => {},
): Promise<Reserved & { begun: Promise<unknown> }> {
  const conn = await client.reserve();
  let closed = false;
  let connection: { onclose: (() => void) | null } | null = null;
  const watch = (c: { onclose: (() => void) | null }) => {
    connection = c;
    c.onclose = () => {
      closed = true;
    };
    return true;
  };
  const send = (text: string, params: unknown[] = [], opts: Record<string, unknown> = {}) => {
    if (closed) return Promise.reject(new Error("the connection to Postgres closed during the transaction"));
    return conn.unsafe(text, params as never[], { ...opts, prepare: true }).execute();
  };
  const begun = Promise.all([send("begin", [], { onexecute: watch }), send(opening.text, opening.params)]);
  // Awaited by the caller; a failure here also fails the transaction's statements.
  begun.catch(() => {});
  let savepoints = 0;
  const wrapped: postgres.Sql = preparing(conn, async (inner): Promise<unknown> => {
    const name = `s${savepoints++}`;
    await send(`savepoint ${name}`);
    try {
      return await inner(wrapped);
    } catch (error) {
      await send(`rollback to savepoint ${name}`);
      throw error;
    }
  });
  const guarded = Object.assign(Object.create(wrapped), {
    unsafe: (text: string, params?: never[], opts?: postgres.UnsafeQueryOptions) => {
      if (closed) throw new Error("the connection to Postgres closed during the transaction");
      onStatement();
      return wrapped.unsafe(text, params, opts);
    },
  }) as postgres.Sql;
  return {
    begun,
    send: (text, params) => send(text, params),
    client: guarded,
    release() {
      if (closed) return;
      if (connection) connection.onclose = null;
      conn.release();
    },
  };
}

/** A drizzle transaction over a reserved connection's client. */
function transactionOver(db: unknown, client: postgres.Sql) {
  const { dialect, session: root } = db as DrizzleInternals;
  const session = new PostgresJsSession(client, dialect, undefined, root.options);
  // The session's client is a transaction's: it has what drizzle calls of one (unsafe, savepoint).
  return new PostgresJsTransaction(dialect, session as never, undefined);
}

/**
 * A transaction on a connection of its own with its opening statements (BEGIN and `opening`, e.g.
 * setting the tenant) sent in the same round trip as the first statement of `fn`, and the
 * `beforeCommit` statement (if any) in the same round trip as COMMIT: an authorised read is two round
 * trips, a write with its audit entry three. Errors are what `db.transaction` gives: the first
 * failure wins, the transaction is rolled back, nothing commits; a COMMIT that Postgres turned into
 * a ROLLBACK (a statement failed and `fn` went on) throws.
 */
export async function pipelinedTransaction<T>(
  db: unknown,
  client: postgres.Sql,
  opening: { text: string; params: string[] },
  fn: (tx: PostgresJsTransaction<Record<string, unknown>, never>) => Promise<T>,
  beforeCommit: (tx: PostgresJsTransaction<Record<string, unknown>, never>) => BeforeCommit | null,
): Promise<T> {
  const r = await reserve(client, opening);
  const tx = transactionOver(db, r.client);
  try {
    let value: T;
    let last: BeforeCommit | null;
    try {
      value = await fn(tx as never);
      await r.begun;
      last = beforeCommit(tx as never);
    } catch (error) {
      await r.send("rollback").catch(() => {});
      throw await r.begun.then(
        () => error,
        (openingError: unknown) => openingError,
      );
    }
    const { dialect } = db as DrizzleInternals;
    const query = last ? dialect.sqlToQuery(last.statement) : null;
    const written = query ? r.send(query.sql, query.params) : null;
    written?.catch(() => {});
    const committed = r.send("commit");
    committed.catch(() => {});
    let wroteRow = false;
    if (written) {
      try {
        wroteRow = (await written).count > 0;
      } catch (error) {
        // COMMIT of the failed transaction rolls it back.
        await committed.catch(() => {});
        throw error;
      }
    }
    const result = await committed;
    if (result.command !== "COMMIT")
      throw new Error(`the transaction did not commit (Postgres answered ${result.command})`);
    last?.done(wroteRow);
    return value;
  } finally {
    r.release();
  }
}

/**
 * One statement in a transaction of its own, in one round trip: BEGIN, `opening`, the statement
 * `fn` runs and COMMIT are sent together (COMMIT of a failed statement rolls back, and the
 * statement's error is thrown). `fn` must run exactly one statement; a second one throws.
 */
export async function pipelinedStatement<T>(
  db: unknown,
  client: postgres.Sql,
  opening: { text: string; params: string[] },
  fn: (tx: PostgresJsTransaction<Record<string, unknown>, never>) => Promise<T>,
): Promise<T> {
  let committed: Promise<postgres.RowList<postgres.Row[]>> | null = null;
  const r = await reserve(client, opening, () => {
    if (committed) throw new Error("a single-statement transaction ran a second statement");
  });
  const commit = (): Promise<postgres.RowList<postgres.Row[]>> => {
    const sent = r.send("commit");
    sent.catch(() => {});
    committed = sent;
    return sent;
  };
  const single = Object.assign(Object.create(r.client), {
    unsafe: (text: string, params?: never[], opts?: postgres.UnsafeQueryOptions) => {
      const q = r.client.unsafe(text, params, opts).execute();
      commit();
      return q;
    },
    savepoint: () => {
      throw new Error("a single-statement transaction has no savepoints");
    },
  }) as postgres.Sql;
  const tx = transactionOver(db, single);
  try {
    let value: T;
    try {
      value = await fn(tx as never);
      await r.begun;
    } catch (error) {
      if (committed) await (committed as Promise<unknown>).catch(() => {});
      else await r.send("rollback").catch(() => {});
      throw await r.begun.then(
        () => error,
        (openingError: unknown) => openingError,
      );
    }
    const result = await ((committed as Promise<postgres.RowList<postgres.Row[]>> | null) ?? commit());
    if (result.command !== "COMMIT")
      throw new Error(`the transaction did not commit (Postgres answered ${result.command})`);
    return value;
  } finally {
    r.release();
  }
}
