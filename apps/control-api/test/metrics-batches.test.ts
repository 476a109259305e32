import { nodeMetrics, systemStatement, withSystem } from "@berth/db";
import { inArray, sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GroupCommit } from "../src/services/group-commit";
import { type NodeSamples, writeSamples } from "../src/services/node-metrics";
import { createTestApi, type TestApi } from "../src/testing";
import { tenantWithNode } from "./workload-support";

/**
 * Nodes' metrics batches written together (group commit): one statement for the batches that
 * arrive at once, each sample counted for the node that sent it; a batch that fails written again
 * by each node alone, in its tenant's transaction.
 */
let api: TestApi;
type Tenant = Awaited<ReturnType<typeof tenantWithNode>>;
let nodes: Tenant[];

beforeAll(async () => {
  api = await createTestApi();
  nodes = [];
  for (const name of ["batch-a", "batch-b", "batch-c"]) nodes.push(await tenantWithNode(api, name));
});
afterAll(async () => {
  await api.close();
  await api.database.drop();
});

const samplesAt = (secondsAgo: number[]) =>
  secondsAgo.map((ago) => ({
    at: new Date(Date.now() - ago * 1000).toISOString(),
    windowMs: 10_000,
    cpuNanos: 1_000_000_000,
    memoryBytes: 64 * 1024 * 1024,
    rxBytes: 1,
    txBytes: 1,
  }));
const report = (t: Tenant, node: unknown[]) =>
  api.call("POST", "/v1/nodes/metrics", { token: t.credential, body: { pods: [], node } });
const rowsOf = (ids: string[]) =>
  withSystem(api.deps.db, (tx) =>
    tx
      .select({
        nodeId: nodeMetrics.nodeId,
        tenantId: nodeMetrics.tenantId,
        ts: nodeMetrics.ts,
        xmin: sql<string>`xmin::text`,
      })
      .from(nodeMetrics)
      .where(inArray(nodeMetrics.nodeId, ids)),
  );

describe("metrics batches of many nodes", () => {
  it("writes the batches that arrive within its window in one statement, each sample counted once, for its own node", async () => {
    const [a, b, c] = nodes as [Tenant, Tenant, Tenant];
    const batches = new GroupCommit((batch: readonly NodeSamples[]) => writeSamples(api.deps.db, batch), {
      windowMs: 200,
    });
    const of = (t: Tenant, node: NodeSamples["node"]) => ({ caller: t, pods: [], node });
    const batch = samplesAt([30, 20]);
    // Node a sends the same batch twice (it did not hear the first answer).
    const accepted = await Promise.all([
      batches.submit(of(a, batch)),
      batches.submit(of(a, batch)),
      batches.submit(of(b, samplesAt([31]))),
      batches.submit(of(c, samplesAt([32, 22, 12]))),
    ]);
    expect(accepted).toEqual([2, 0, 1, 3]);
    const rows = await rowsOf(nodes.map((n) => n.nodeId));
    expect(rows).toHaveLength(6);
    expect(new Set(rows.map((r) => r.xmin)).size).toBe(1);
    // Each row is its own node's tenant's.
    for (const n of nodes)
      expect(rows.filter((r) => r.nodeId === n.nodeId).every((r) => r.tenantId === n.tenantId)).toBe(true);
  });

  it("answers each node's report through the API with what it stored", async () => {
    const [a, b] = nodes as [Tenant, Tenant];
    const batch = samplesAt([50, 40]);
    const replies = await Promise.all([report(a, batch), report(a, batch), report(b, samplesAt([51]))]);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(
      replies
        .slice(0, 2)
        .map((r) => r.body.accepted)
        .sort(),
    ).toEqual([0, 2]);
    expect(replies[2]?.body).toEqual({ accepted: 1 });
  });

  it("writes each node's batch alone, in its tenant's transaction, when the batch statement fails", async () => {
    const [a, b] = nodes as [Tenant, Tenant];
    const [{ role }] = (await systemStatement(api.deps.db, (s) =>
      s.execute(sql`select current_user as role`),
    )) as unknown as [{ role: string }];
    const before = new Set((await rowsOf([a.nodeId, b.nodeId])).map((r) => `${r.nodeId}@${r.ts.getTime()}`));
    const owner = postgres(api.database.migrationUrl, { max: 1, onnotice: () => {} });
    try {
      // The system role may no longer insert samples: every batch statement fails.
      await owner.unsafe(`revoke insert on node_metrics from "${role}"`);
      const replies = await Promise.all([report(a, samplesAt([45])), report(b, samplesAt([46, 36]))]);
      expect(replies.map((r) => [r.status, r.body.accepted])).toEqual([
        [200, 1],
        [200, 2],
      ]);
    } finally {
      await owner.unsafe(`grant insert on node_metrics to "${role}"`);
      await owner.end({ timeout: 5 });
    }
    const added = (await rowsOf([a.nodeId, b.nodeId])).filter(
      (r) => !before.has(`${r.nodeId}@${r.ts.getTime()}`),
    );
    const xminsOf = (t: Tenant) => new Set(added.filter((r) => r.nodeId === t.nodeId).map((r) => r.xmin));
    // Each node's samples in a transaction of its own.
    expect(added).toHaveLength(3);
    expect(xminsOf(a).size).toBe(1);
    expect(xminsOf(b).size).toBe(1);
    expect([...xminsOf(a)][0]).not.toBe([...xminsOf(b)][0]);
  });
});
