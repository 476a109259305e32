import { newId } from "@berth/core";
import { clusters, deployments, type PodTemplate, pods, withSystem } from "@berth/db";
import { createTestDatabase } from "@berth/db/testing";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAGE_SLICE_ROWS } from "../src/services/paging";
import { createTestApi, type TestApi } from "../src/testing";

/** Lists and gets of workloads cost a constant number of queries, however many rows a page holds. */
let api: TestApi;
let token: string;
let tenantId: string;
let clusterId: string;
const statements: string[] = [];

beforeAll(async () => {
  const database = await createTestDatabase({ onQuery: (q) => statements.push(q) });
  api = await createTestApi({ database });
  ({ token, tenantId } = await api.tenant("queries"));
  clusterId = (await api.call("POST", "/v1/clusters", { token, body: { name: "c" } })).body.id;
  await withSystem(api.deps.db, (tx) =>
    tx.update(clusters).set({ status: "active" }).where(eq(clusters.id, clusterId)),
  );
});
afterAll(async () => {
  await api.close();
  await api.database.drop();
});

const template: PodTemplate = {
  containers: [
    {
      name: "app",
      image: "localhost/app:latest",
      env: [],
      ports: [],
      resources: { cpuMillis: 100, memoryBytes: 64 * 1024 ** 2 },
      limits: { cpuMillis: 100, memoryBytes: 64 * 1024 ** 2 },
    },
  ],
  nodeSelector: {},
  tolerations: [],
  priority: 0,
  rollout: { maxSurge: "25%", maxUnavailable: "25%" },
};

/** Adds deployments with `podsEach` pods each, straight into the database. */
async function addDeployments(count: number, podsEach: number): Promise<void> {
  await withSystem(api.deps.db, async (tx) => {
    for (let i = 0; i < count; i++) {
      const id = newId("deployment");
      const name = `d-${id.slice(-10).toLowerCase()}`;
      await tx.insert(deployments).values({
        id,
        tenantId,
        clusterId,
        namespace: "default",
        name,
        replicas: podsEach,
        template,
        templateHash: "h",
      });
      for (let j = 0; j < podsEach; j++)
        await tx.insert(pods).values({
          id: newId("pod"),
          tenantId,
          clusterId,
          deploymentId: id,
          namespace: "default",
          name: `${name}-${j}`,
          templateHash: "h",
          template,
          cpuMillis: 100,
          memoryBytes: 64 * 1024 ** 2,
        });
    }
  });
}

async function queriesOf(path: string): Promise<{ count: number; body: { items: unknown[] } }> {
  statements.length = 0;
  const r = await api.call("GET", path, { token });
  expect(r.status, r.text).toBe(200);
  // Authentication and rate limiting are the same for every request; what differs is the listing.
  return { count: statements.length, body: r.body };
}

describe("workload reads", () => {
  it("lists deployments with their pod counts in a query a slice, for 60 rows as for 3", async () => {
    await addDeployments(3, 2);
    const small = await queriesOf(`/v1/clusters/${clusterId}/deployments?limit=500`);
    await addDeployments(57, 2);
    const large = await queriesOf(`/v1/clusters/${clusterId}/deployments?limit=500`);
    expect(small.body.items).toHaveLength(3);
    expect(large.body.items).toHaveLength(60);
    // A query a slice of rows (61 asked for: one more tells whether a next page exists), never one a row.
    expect(large.count).toBe(small.count + Math.ceil(61 / PAGE_SLICE_ROWS) - 1);
    expect(large.body.items).toContainEqual(
      expect.objectContaining({ status: expect.objectContaining({ replicas: 2 }) }),
    );
  });

  it("counts only live pods of a deployment, in the query that reads it", async () => {
    const [one] = await withSystem(api.deps.db, (tx) => tx.select().from(deployments).limit(1));
    await withSystem(api.deps.db, (tx) =>
      tx
        .update(pods)
        .set({ deletionRequestedAt: new Date() })
        .where(eq(pods.name, `${one?.name}-0`)),
    );
    const got = await api.call("GET", `/v1/clusters/${clusterId}/deployments/default/${one?.name}`, {
      token,
    });
    expect(got.body.status.replicas).toBe(1);
  });

  it("lists pods and events in as many queries for many rows as for few (a slice of 100 rows a query)", async () => {
    const podsPage = await queriesOf(`/v1/clusters/${clusterId}/pods?limit=500`);
    const podsSmall = await queriesOf(`/v1/clusters/${clusterId}/pods?limit=2`);
    expect(podsPage.body.items.length).toBe(120);
    // 121 rows asked for (one more tells whether a next page exists): two slices, not one query a row.
    expect(podsPage.count).toBe(podsSmall.count + Math.ceil(121 / PAGE_SLICE_ROWS) - 1);
    const events = await queriesOf(`/v1/clusters/${clusterId}/events?limit=500`);
    const eventsSmall = await queriesOf(`/v1/clusters/${clusterId}/events?limit=1`);
    expect(events.count).toBe(eventsSmall.count);
  });
});
