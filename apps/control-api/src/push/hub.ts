import { randomBytes } from "node:crypto";
import type { Logger } from "@berth/core";
import postgres from "postgres";
import { createNodeWaiters, type NodeWaiter } from "./node-waiters";

/**
 * The channel the `pods`/`nodes` triggers notify with a node's id (migration 0010), the
 * network triggers with `net:<cluster id>` (migration 0027), what admits a principal with
 * `auth:<principal id>` (migration 0031), what admits a node's credential with
 * `auth:<cluster id>` (migration 0034), and a tenant's clusters with `read:<tenant id>` (migration 0035).
 */
export const ASSIGNMENTS_CHANNEL = "berth_node_assignments";
const PROBE = "~probe:";
const NETWORK = "net:";
const AUTH = "auth:";
const READ = "read:";
/** Network long polls of one cluster held at once (each node holds one). */
const MAX_NETWORK_WAITS_PER_CLUSTER = 20_000;

/** One node's changes as one watch sees them: `next` is true as soon as its assignments may have changed. */
export type Subscription = NodeWaiter;

/**
 * Wakes the watches this replica holds when their node's assignments change. One connection per
 * replica LISTENs; every replica receives every notification and wakes only its own waiters, so
 * any number of replicas work. A probe notification it sends itself proves the connection still
 * delivers; when it does not (Postgres restarted, the connection was cut) the hub connects and
 * listens again, with back-off, then wakes every waiter so none misses what changed meanwhile.
 */
export interface AssignmentHub {
  start(): Promise<void>;
  stop(): Promise<void>;
  subscribe(nodeId: string): Subscription;
  /** Woken when the cluster's network view (services, endpoints, policies) may have changed. */
  subscribeNetwork(clusterId: string): Subscription;
  /**
   * Told of every notification of `kind`: `auth:` (a principal's or a cluster's id) or `read:` (a
   * tenant's id), and with null when notifications may have been lost (the connection was cut): then
   * anything may have changed.
   */
  onChange(kind: ChangeKind, listener: (id: string | null) => void): void;
  /**
   * Resolves once every notification committed before the call has been handled here (a probe of
   * its own, sent after the call, came back: Postgres delivers them in commit order). False when
   * not listening, or after `timeoutMs`.
   */
  barrier(timeoutMs?: number): Promise<boolean>;
  /** Whether notifications are being received right now. */
  readonly listening: boolean;
}

/** What a notification says changed: what admits a principal or node (`auth`), or what a tenant reads (`read`). */
export type ChangeKind = "auth" | "read";

export interface AssignmentHubOptions {
  /** The system role's connection string (a LISTEN needs no tenant). */
  url: string;
  logger: Logger;
  /** How often the hub checks that its connection still delivers (default 5 s). */
  probeIntervalMs?: number;
  /** Watches of one node held at once; the oldest is answered when more arrive (default 4). */
  maxPerNode?: number;
  applicationName?: string;
}

export function createAssignmentHub(opts: AssignmentHubOptions): AssignmentHub {
  const probeIntervalMs = opts.probeIntervalMs ?? 5_000;
  const instance = randomBytes(6).toString("hex");
  const waiters = createNodeWaiters({ maxPerNode: opts.maxPerNode ?? 4 });
  const networks = createNodeWaiters({ maxPerNode: MAX_NETWORK_WAITS_PER_CLUSTER });
  const changeListeners: Record<ChangeKind, ((id: string | null) => void)[]> = { auth: [], read: [] };
  const changed = (kind: ChangeKind, id: string | null) => {
    for (const l of changeListeners[kind]) l(id);
  };
  /** Probes sent for barriers, by payload, and the barrier calls waiting for the next probe. */
  const barriers = new Map<string, () => void>();
  let nextBarrier: Promise<boolean> | null = null;
  const wakeAll = () => {
    waiters.wakeAll();
    networks.wakeAll();
    changed("auth", null);
    changed("read", null);
  };
  let sql: postgres.Sql | null = null;
  let listening = false;
  let running = false;
  let probeTimer: NodeJS.Timeout | null = null;
  let probeSent: string | null = null;
  let probeSeen = true;
  let reconnecting: Promise<void> | null = null;
  let seq = 0;

  function onNotify(payload: string): void {
    if (payload.startsWith(PROBE)) {
      if (payload === probeSent) probeSeen = true;
      barriers.get(payload)?.();
      return;
    }
    if (payload.startsWith(AUTH)) changed("auth", payload.slice(AUTH.length));
    else if (payload.startsWith(READ)) changed("read", payload.slice(READ.length));
    else if (payload.startsWith(NETWORK)) networks.wake(payload.slice(NETWORK.length));
    else waiters.wake(payload);
  }

  async function connect(): Promise<void> {
    const client = postgres(opts.url, {
      max: 1,
      connect_timeout: 10,
      onnotice: () => {},
      connection: { application_name: opts.applicationName ?? "berth-control-api-listen" },
    });
    sql = client;
    let first = true;
    // postgres.js listens again by itself when its connection drops and Postgres answers at once;
    // what was notified in between is lost, so every waiter looks again.
    const onListen = () => {
      if (!first && sql === client) {
        opts.logger.info("listening for assignment notifications again (reconnected)");
        wakeAll();
      }
      first = false;
    };
    try {
      await client.listen(ASSIGNMENTS_CHANNEL, onNotify, onListen);
    } catch (error) {
      sql = null;
      await client.end({ timeout: 1 }).catch(() => {});
      throw error;
    }
    listening = true;
    probeSeen = true;
    probeSent = null;
  }

  /** Drops the connection and listens again until it works (or the hub stops); then wakes everyone. */
  function reconnect(reason: string): Promise<void> {
    reconnecting ??= (async () => {
      listening = false;
      opts.logger.warn({ reason }, "assignment notifications lost: listening again");
      const old = sql;
      sql = null;
      await old?.end({ timeout: 1 }).catch(() => {});
      for (let attempt = 1; running; attempt++) {
        try {
          await connect();
          opts.logger.info({ attempt }, "listening for assignment notifications again");
          wakeAll();
          return;
        } catch (error) {
          const delay = Math.min(500 * 2 ** (attempt - 1), 10_000);
          opts.logger.warn({ err: (error as Error).message, retryInMs: delay }, "cannot listen yet");
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    })().finally(() => {
      reconnecting = null;
    });
    return reconnecting;
  }

  async function probe(): Promise<void> {
    if (!running || reconnecting || !sql) return;
    if (!probeSeen) return void reconnect("the last probe never arrived");
    probeSent = `${PROBE}${instance}:${++seq}`;
    probeSeen = false;
    try {
      await sql`select pg_notify(${ASSIGNMENTS_CHANNEL}, ${probeSent})`;
    } catch (error) {
      return void reconnect(`probe failed: ${(error as Error).message}`);
    }
  }

  function schedule(): void {
    if (!running) return;
    probeTimer = setTimeout(() => {
      void probe().finally(schedule);
    }, probeIntervalMs);
  }

  return {
    get listening() {
      return listening;
    },
    async start() {
      running = true;
      try {
        await connect();
      } catch (error) {
        // Watches still answer (after their wait); the probe loop keeps trying to listen.
        opts.logger.warn({ err: (error as Error).message }, "cannot listen for assignment notifications yet");
        void reconnect("no connection at start");
      }
      schedule();
    },
    async stop() {
      running = false;
      if (probeTimer) clearTimeout(probeTimer);
      waiters.endAll();
      networks.endAll();
      await reconnecting;
      listening = false;
      await sql?.end({ timeout: 2 }).catch(() => {});
      sql = null;
    },
    subscribe(nodeId) {
      return waiters.add(nodeId);
    },
    subscribeNetwork(clusterId) {
      return networks.add(clusterId);
    },
    onChange(kind, listener) {
      changeListeners[kind].push(listener);
    },
    barrier(timeoutMs = 1_000) {
      // Calls arriving before the next probe is sent share it: it is sent after each of them.
      nextBarrier ??= new Promise<boolean>((resolve) => {
        setImmediate(() => {
          nextBarrier = null;
          const client = sql;
          if (!listening || !client) return resolve(false);
          const payload = `${PROBE}${instance}:b${++seq}`;
          const timer = setTimeout(() => {
            barriers.delete(payload);
            resolve(false);
          }, timeoutMs);
          barriers.set(payload, () => {
            clearTimeout(timer);
            barriers.delete(payload);
            resolve(true);
          });
          client`select pg_notify(${ASSIGNMENTS_CHANNEL}, ${payload})`.catch(() => {
            clearTimeout(timer);
            barriers.delete(payload);
            resolve(false);
          });
        });
      });
      return nextBarrier;
    },
  };
}
