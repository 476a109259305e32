import { type Db, systemStatement } from "@berth/db";
import { sql } from "drizzle-orm";
import { GroupCommit, type GroupCommitOptions } from "./group-commit";
import { mustLeave } from "./node-assignments";

type NodeStatus = Parameters<typeof mustLeave>[0]["status"];
type ClusterStatus = Parameters<typeof mustLeave>[1]["status"];

/** One heartbeat's node, as its verified credential names it, and the agent version it reports. */
export interface Renewal {
  tenantId: string;
  clusterId: string;
  nodeId: string;
  agentVersion?: string;
}

/** What a renewed node is told: whether it must leave (it is leaving, or its cluster is going). */
export interface Renewed {
  leave: boolean;
}

export interface LeaseRenewalOptions extends GroupCommitOptions {
  now: () => Date;
}

/**
 * Node leases renewed together (group-commit.ts): the heartbeats that arrive within a few
 * milliseconds are one UPDATE, each answered once it has committed. Only the plain case goes this
 * way: a node that is ready (or leaving) whose agent version is unchanged. Anything else (a node
 * coming back from not_ready, a new agent version, a node that left) answers `null`, as does a
 * batch that failed, and the caller takes the transactional path, which records events and says
 * what is wrong.
 *
 * The UPDATE runs as the system role: the rows are pinned by the tenant, cluster and node of each
 * verified credential, and it locks them in id order, as one transaction. It skips a row another
 * transaction holds (the sweep lapsing it, another batch) rather than wait with the whole batch
 * behind it: that node takes the transactional path, which waits for its row alone.
 */
export class LeaseRenewals {
  private readonly batches: GroupCommit<Renewal, Renewed | null>;

  constructor(
    private readonly db: Db,
    private readonly opts: LeaseRenewalOptions,
  ) {
    this.batches = new GroupCommit((batch) => this.write(batch), opts);
  }

  renew(renewal: Renewal): Promise<Renewed | null> {
    return this.batches.submit(renewal);
  }

  private async write(batch: readonly Renewal[]): Promise<(Renewed | null)[]> {
    const rows = JSON.stringify(
      batch.map((r) => ({
        id: r.nodeId,
        cluster_id: r.clusterId,
        tenant_id: r.tenantId,
        agent_version: r.agentVersion ?? null,
      })),
    );
    const now = this.opts.now();
    const result = (await systemStatement(this.db, (s) =>
      s.execute(sql`
        with heard as (
          select * from jsonb_to_recordset(${rows}::jsonb)
            as h(id text, cluster_id text, tenant_id text, agent_version text)
        ), plain as (
          select n.id, c.status as cluster_status
          from nodes n
          join heard h on h.id = n.id and h.cluster_id = n.cluster_id and h.tenant_id = n.tenant_id
          join clusters c on c.id = n.cluster_id
          where n.status in ('ready', 'leaving')
            and (h.agent_version is null or h.agent_version = n.agent_version)
          order by n.id
          for update of n skip locked
        )
        update nodes n set last_heartbeat_at = ${now.toISOString()}::timestamptz
        from plain
        where n.id = plain.id
        returning n.id, n.tenant_id, n.cluster_id, n.status, plain.cluster_status`),
    )) as unknown as {
      id: string;
      tenant_id: string;
      cluster_id: string;
      status: string;
      cluster_status: string;
    }[];
    const renewed = new Map(
      result.map((r) => [
        keyOf({ tenantId: r.tenant_id, clusterId: r.cluster_id, nodeId: r.id }),
        {
          leave: mustLeave({ status: r.status as NodeStatus }, { status: r.cluster_status as ClusterStatus }),
        },
      ]),
    );
    return batch.map((r) => renewed.get(keyOf(r)) ?? null);
  }
}

/** A renewal answers only the heartbeat of that very node of that cluster and tenant. */
const keyOf = (r: Pick<Renewal, "tenantId" | "clusterId" | "nodeId">) =>
  `${r.tenantId}/${r.clusterId}/${r.nodeId}`;

const perDatabase = new WeakMap<Db, LeaseRenewals>();

/** The replica's batcher of lease renewals for this database. */
export function leaseRenewals(db: Db, now: () => Date): LeaseRenewals {
  let renewals = perDatabase.get(db);
  if (!renewals) {
    renewals = new LeaseRenewals(db, { now });
    perDatabase.set(db, renewals);
  }
  return renewals;
}
