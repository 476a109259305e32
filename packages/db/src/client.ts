import { FairSemaphore, SemaphoreTimeoutError, UnavailableError } from "@berth/core";
import { sql } from "drizzle-orm";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { preparing } from "./prepared";

/**
 * The database as the apps see it: queries run as the tenant role (`berth_app`, row-level security
 * by tenant), and `$system` is a separate pool of the system role (`berth_system`) that only
 * `withSystem` and `systemStatement` use. The tenant role cannot become the system role, so
 * nothing a tenant's request runs can read across tenants.
 *
 * Drizzle is given no schema: its relational query builders (`db.query.*`) are not used, and with a
 * schema every transaction handle would build one per table before its first statement.
 */
export type Db = PostgresJsDatabase & {
  $client: postgres.Sql;
  $system: SystemDb;
  /** Hands the tenant pool's connections out fairly between tenants (see withTenant). */
  $fair: FairSemaphore;
  /** The change record of the call this handle is for (see `recordingChanges`). */
  $record?: ChangeRecord;
};
type SystemDb = PostgresJsDatabase & { $client: postgres.Sql };
/** A transaction handle; the same query API as `Db`. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

export interface DbOptions {
  /** Pool size of the tenant role; the default suits one app replica. */
  max?: number;
  /** Pool size of the system role (default: half of `max`, at least 2). */
  systemMax?: number;
  /** Name reported in pg_stat_activity. */
  applicationName?: string;
  /** Called with the text of every statement the tenant role runs (tests count queries with it). */
  onQuery?: (sql: string) => void;
}

export interface DbUrls {
  /** The tenant role's connection (`berth_app`): every query is limited to one tenant's rows. */
  url: string;
  /** The system role's connection (`berth_system`): platform work across tenants, through `withSystem` only. */
  systemUrl: string;
}

/**
 * Seconds before a connection of the pool tries again after failing to connect. postgres.js counts
 * failures over the whole pool and waits 3^failures / 100 s (up to 20 s): a Postgres away for
 * three seconds fails a busy pool's connects dozens of times, and requests then waited 10–20 s
 * after it was back. Here the wait doubles from 50 ms to at most 1 s, with jitter; a connection
 * retries only while a query waits for it.
 */
const reconnectBackoff = (failures: number): number =>
  Math.min(0.05 * 2 ** failures, 1) * (0.5 + Math.random() / 2);

function connect(url: string, max: number, applicationName: string, onQuery?: (sql: string) => void) {
  const client = postgres(url, {
    max,
    idle_timeout: 30,
    connect_timeout: 10,
    backoff: reconnectBackoff,
    onnotice: () => {},
    connection: { application_name: applicationName },
  });
  const db = drizzle(preparing(client), {
    casing: "snake_case",
    ...(onQuery ? { logger: { logQuery: (query: string) => onQuery(query) } } : {}),
  });
  return Object.assign(db, { $client: client });
}

/** Connects lazily: no connection is opened until the first query. */
export function createDb(urls: DbUrls, opts: DbOptions = {}): Db {
  const name = opts.applicationName ?? "berth";
  const max = opts.max ?? 10;
  const system = connect(urls.systemUrl, opts.systemMax ?? Math.max(2, Math.ceil(max / 2)), `${name}-system`);
  const fair = new FairSemaphore({ capacity: max, perKey: Math.max(1, Math.ceil(max / 2)) });
  return Object.assign(connect(urls.url, max, name, opts.onQuery), { $system: system, $fair: fair }) as Db;
}

export async function closeDb(db: Db): Promise<void> {
  await Promise.all([db.$client.end({ timeout: 5 }), db.$system.$client.end({ timeout: 5 })]);
}

/**
 * A record that must commit with the change it records (a write's audit entry): the first
 * transaction of its tenant that changes something, through the handle `recordingChanges` gave,
 * writes it before it commits, so the change and its record exist together or not at all.
 */
export interface ChangeRecord {
  readonly tenantId: string;
  /**
   * The statement that writes the record: SQL text with `$1…` parameters, and their values. It must
   * write only if its transaction has written a row (`insert … select … where
   * ${TRANSACTION_CHANGED}`): it runs as the last statement of every tenant transaction of the
   * call until one has written it, sent together with that transaction's COMMIT.
   */
  readonly insert: { readonly text: string; readonly values: readonly unknown[] };
  /** Set once a transaction that wrote the record has committed. */
  committed: boolean;
  /**
   * What the call's tenant transactions changed that the replicas are notified of (migration
   * 0037's marks, read before each commits): what admits a principal or a node, what a tenant
   * reads. `unmarked` when a transaction of the call was not read (the system role's).
   */
  notified: { auth: boolean; read: boolean; unmarked: boolean };
}

/**
 * `db` for one call with `record` pending (see ChangeRecord): the call's code is handed this handle
 * (its `deps.db`) and uses it as it would `db`. The record travels with the handle, not with an
 * AsyncLocalStorage: on Node 20 any AsyncLocalStorage in use puts a hook on every promise of the
 * process, which was 15–25 % of an authenticated read's CPU (an in-process loop of the read,
 * 179–224 µs a request with them, 157–168 without).
 */
export function recordingChanges(db: Db, record: ChangeRecord): Db {
  return Object.assign(Object.create(db) as Db, { $record: record });
}

/**
 * Hands a statement to the transaction's connection now, without waiting for its reply:
 * postgres.js sends a transaction's statements in order on its one connection, so whatever the
 * transaction issues next goes out behind it, in the same write, with no round trip of its own.
 * A failure fails the statements behind it (the transaction is aborted); await the result to see it.
 */
function dispatch(tx: Tx, text: string, values: readonly unknown[]) {
  const client = (tx as unknown as { session: { client: postgres.Sql } }).session.client;
  const query = client.unsafe(text, values as postgres.ParameterOrJSON<never>[]).execute();
  // Awaited by the caller; until then a failure must not count as unhandled.
  query.catch(() => {});
  return query;
}

const SET_TENANT = "select set_config('berth.tenant_id', $1, true)";
const NOTIFIED_MARKS =
  "select current_setting('berth.notified_auth', true) = 'on' as auth, current_setting('berth.notified_read', true) = 'on' as read";

/** Whether the transaction has written a row (it has a transaction id only once it has), as SQL text. */
export const TRANSACTION_CHANGED = "pg_current_xact_id_if_assigned() is not null";

/**
 * Runs `fn` in one transaction scoped to a tenant: row-level security limits every statement to the
 * tenant's rows, so a query that forgets its `where tenant_id = …` still sees nothing of others.
 * Connections are handed out fairly: one tenant holds at most half of the pool, and when tenants
 * wait, freed connections go to them in turn (a flood of one tenant's queries queues behind itself).
 * A pending change record is written, if the transaction changed something, just before COMMIT.
 * `urgent` goes ahead of the tenant's other waiting transactions (a node's lease, not its join).
 * `fn` must not open another tenant transaction: it would wait for a connection while holding one.
 * As a net, a transaction that waited TENANT_WAIT_MS for its connection fails as unavailable (503,
 * retryable) rather than waiting on.
 */
export async function withTenant<T>(
  db: Db,
  tenantId: string,
  fn: (tx: Tx) => Promise<T>,
  opts: { urgent?: boolean } = {},
): Promise<T> {
  const record = db.$record;
  const run = async () => {
    let recording: ReturnType<typeof dispatch> | undefined;
    let marks: ReturnType<typeof dispatch> | undefined;
    const value = await db.transaction(async (tx) => {
      // The tenant is set before any statement of `fn`: it is dispatched before `fn` runs.
      const scoped = dispatch(tx, SET_TENANT, [tenantId]);
      const value = await fn(tx);
      await scoped;
      // The record and the marks go out with COMMIT. Should the record fail, the transaction is
      // aborted and its COMMIT only rolls back (Postgres answers it without an error): its failure
      // is thrown below.
      if (record && !record.committed && record.tenantId === tenantId)
        recording = dispatch(tx, record.insert.text, record.insert.values);
      if (record) marks = dispatch(tx, NOTIFIED_MARKS, []);
      return value;
    });
    if (record && recording && (await recording).count > 0) record.committed = true;
    if (record && marks) {
      const [m] = await marks;
      record.notified.auth ||= m?.auth === true;
      record.notified.read ||= m?.read === true;
    }
    return value;
  };
  try {
    return await db.$fair.run(tenantId, run, { ...opts, timeoutMs: TENANT_WAIT_MS });
  } catch (error) {
    if (!(error instanceof SemaphoreTimeoutError)) throw error;
    throw new UnavailableError("the database is busy; retry shortly", error);
  }
}

/** How long a tenant transaction waits for one of the pool's connections: long, as a storm of one tenant's node joins queues for tens of seconds. */
const TENANT_WAIT_MS = 120_000;

/**
 * Runs `fn` in one transaction of the system role, which may read and write every tenant's rows.
 * Only for the platform's own work that is not on behalf of one tenant: sign-up, login by email,
 * the sweeps of the control loops. Grep for it: each use is a place where isolation rests on the
 * code, not on the database.
 */
export async function withSystem<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  unmarked(db);
  return db.$system.transaction((tx) => fn(tx as unknown as Tx));
}

/** One statement as the system role, with no transaction around it: one round trip, not three. */
export function systemStatement<T>(db: Db, fn: (s: Tx) => Promise<T>): Promise<T> {
  unmarked(db);
  return fn(db.$system as unknown as Tx);
}

/** A call with a pending change record writes as the system role: what it changed is not known. */
function unmarked(db: Db): void {
  if (db.$record) db.$record.notified.unmarked = true;
}

export async function ping(db: Db): Promise<void> {
  await Promise.all([db.execute(sql`select 1`), db.$system.execute(sql`select 1`)]);
}
