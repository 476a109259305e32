import { clusters, nodes, withSystem } from "@berth/db";
import { createTestDatabase } from "@berth/db/testing";
import { eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaseRenewals } from "../src/services/lease-renewals";
import { createTestApi, type TestApi } from "../src/testing";
import { addNode, tenantWithCluster } from "./workload-support";

/** Heartbeats of many nodes renewed in one statement; everything but the plain case is left to the caller. */
let api: TestApi;
let tenantId: string;
let clusterId: string;
const at = new Date("2030-01-01T00:00:00Z");

beforeAll(async () => {
  api = await createTestApi({ database: await createTestDatabase() });
  ({ tenantId, clusterId } = await tenantWithCluster(api, "leases"));
});
afterAll(async () => {
  await api.close();
  await api.database.drop();
});

const setNode = (id: string, values: Partial<typeof nodes.$inferInsert>) =>
  withSystem(api.deps.db, (tx) => tx.update(nodes).set(values).where(eq(nodes.id, id)));
const heartbeatsOf = async (ids: string[]) =>
  new Map(
    (
      await withSystem(api.deps.db, (tx) =>
        tx
          .select({ id: nodes.id, at: nodes.lastHeartbeatAt, xmin: sql<string>`xmin::text` })
          .from(nodes)
          .where(inArray(nodes.id, ids)),
      )
    ).map((r) => [r.id, { at: r.at.toISOString(), xmin: r.xmin }]),
  );

describe("lease renewals", () => {
  it("renews the leases of concurrent heartbeats in one statement, and says who must leave", async () => {
    const ready = await Promise.all([1, 2, 3].map(() => addNode(api, tenantId, clusterId)));
    const leaving = await addNode(api, tenantId, clusterId);
    await setNode(leaving, { status: "leaving" });
    const renewals = new LeaseRenewals(api.deps.db, { now: () => at, windowMs: 50 });
    const answers = await Promise.all(
      [...ready, leaving].map((nodeId) => renewals.renew({ tenantId, clusterId, nodeId })),
    );
    expect(answers).toEqual([{ leave: false }, { leave: false }, { leave: false }, { leave: true }]);
    const renewed = await heartbeatsOf([...ready, leaving]);
    expect([...renewed.values()].map((r) => r.at)).toEqual(Array(4).fill(at.toISOString()));
    // One statement: every row was written by the same transaction.
    expect(new Set([...renewed.values()].map((r) => r.xmin)).size).toBe(1);
  });

  it("never waits for a row another transaction holds: that node is left to the caller, the rest renewed", async () => {
    const [held, free] = await Promise.all([1, 2].map(() => addNode(api, tenantId, clusterId)));
    const renewals = new LeaseRenewals(api.deps.db, { now: () => at, windowMs: 20 });
    let answers: unknown[] = [];
    await withSystem(api.deps.db, async (tx) => {
      await tx
        .select()
        .from(nodes)
        .where(eq(nodes.id, held as string))
        .for("update");
      // Answered while the row is still held (the holder commits only after).
      answers = await Promise.all(
        [held, free].map((nodeId) => renewals.renew({ tenantId, clusterId, nodeId: nodeId as string })),
      );
    });
    expect(answers).toEqual([null, { leave: false }]);
    expect((await heartbeatsOf([free as string])).get(free as string)?.at).toBe(at.toISOString());
  });

  it("leaves a node that is not ready, left, unknown, of another cluster or of a new agent version to the caller", async () => {
    const [notReady, left, versioned, plain] = await Promise.all(
      [1, 2, 3, 4].map(() => addNode(api, tenantId, clusterId)),
    );
    await setNode(notReady as string, { status: "not_ready" });
    await setNode(left as string, { status: "left" });
    await setNode(versioned as string, { agentVersion: "0.1.0" });
    const other = await tenantWithCluster(api, "other");
    const renewals = new LeaseRenewals(api.deps.db, { now: () => at, windowMs: 50 });
    const answers = await Promise.all([
      renewals.renew({ tenantId, clusterId, nodeId: notReady as string }),
      renewals.renew({ tenantId, clusterId, nodeId: left as string }),
      renewals.renew({ tenantId, clusterId, nodeId: "node_unknown" }),
      renewals.renew({ tenantId: other.tenantId, clusterId: other.clusterId, nodeId: plain as string }),
      renewals.renew({ tenantId, clusterId, nodeId: versioned as string, agentVersion: "0.2.0" }),
      renewals.renew({ tenantId, clusterId, nodeId: plain as string, agentVersion: undefined }),
    ]);
    expect(answers).toEqual([null, null, null, null, null, { leave: false }]);
    const renewed = await heartbeatsOf([notReady, left, versioned, plain] as string[]);
    expect(renewed.get(plain as string)?.at).toBe(at.toISOString());
    for (const id of [notReady, left, versioned])
      expect(renewed.get(id as string)?.at).not.toBe(at.toISOString());
  });

  it("tells every node of a cluster being deleted to leave", async () => {
    const nodeId = await addNode(api, tenantId, clusterId);
    await withSystem(api.deps.db, (tx) =>
      tx.update(clusters).set({ status: "deleting" }).where(eq(clusters.id, clusterId)),
    );
    const renewals = new LeaseRenewals(api.deps.db, { now: () => at });
    expect(await renewals.renew({ tenantId, clusterId, nodeId })).toEqual({ leave: true });
  });

  it("answers null to everyone of a batch that failed, so each takes the transactional path", async () => {
    const nodeId = await addNode(api, tenantId, clusterId);
    const closed = await createTestDatabase();
    const renewals = new LeaseRenewals(closed.db, { now: () => at });
    await closed.drop();
    expect(await renewals.renew({ tenantId, clusterId, nodeId })).toBeNull();
  });
});
