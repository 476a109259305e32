import { randomBytes } from "node:crypto";
import { generateMasterKey, newId, parseMasterKey } from "@berth/core";
import { createQueues } from "@berth/core/queues";
import { clusters, deployments, nodes, type PodTemplate, tenants, withSystem } from "@berth/db";
import { createTestDatabase, type TestDatabase } from "@berth/db/testing";
import { Redis } from "ioredis";
import type { Deps } from "../src/deps";
import { createTestProvisionerDeps } from "../src/testing";

export interface Fixture {
  database: TestDatabase;
  deps: Deps;
  /** A clock the test moves by hand. */
  clock: { now: Date; advance(ms: number): void };
  close(): Promise<void>;
}

export async function createFixture(): Promise<Fixture> {
  const database = await createTestDatabase();
  const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:56379", { maxRetriesPerRequest: null });
  const queues = createQueues(redis, `test-${randomBytes(5).toString("hex")}`);
  const clock = {
    now: new Date(),
    advance(ms: number) {
      clock.now = new Date(clock.now.getTime() + ms);
    },
  };
  const deps = createTestProvisionerDeps({
    db: database.db,
    redis,
    queues,
    master: parseMasterKey(generateMasterKey()),
    now: () => clock.now,
  });
  return {
    database,
    deps,
    clock,
    async close() {
      for (const q of ["clusters", "reconcile", "sweep"] as const)
        await queues.get(q).obliterate({ force: true });
      await queues.close();
      await redis.quit();
      await database.drop();
    },
  };
}

export async function insertTenantAndCluster(f: Fixture, status: "provisioning" | "active" = "active") {
  const tenantId = newId("tenant");
  const clusterId = newId("cluster");
  await withSystem(f.deps.db, async (tx) => {
    await tx.insert(tenants).values({ id: tenantId, name: `t-${randomBytes(4).toString("hex")}` });
    await tx.insert(clusters).values({
      id: clusterId,
      tenantId,
      name: "c",
      status,
      activeAt: status === "active" ? f.clock.now : null,
    });
  });
  return { tenantId, clusterId };
}

export async function insertNode(
  f: Fixture,
  ref: { tenantId: string; clusterId: string },
  name: string,
  capacity: { cpuMillis: number; memoryBytes: number; pods?: number },
) {
  const id = newId("node");
  await withSystem(f.deps.db, (tx) =>
    tx.insert(nodes).values({
      id,
      tenantId: ref.tenantId,
      clusterId: ref.clusterId,
      name,
      cpuMillis: capacity.cpuMillis,
      memoryBytes: capacity.memoryBytes,
      maxPods: capacity.pods ?? 110,
      portMin: 30000,
      portMax: 30099,
      address: "127.0.0.1",
      lastHeartbeatAt: f.clock.now,
    }),
  );
  return id;
}

export const MiB = 1024 * 1024;

export function template(cpuMillis: number, memoryBytes: number, ports = 1): PodTemplate {
  return {
    containers: [
      {
        name: "app",
        image: "localhost/berth/demo-web:latest",
        env: [],
        ports: Array.from({ length: ports }, (_, i) => ({
          containerPort: 8080 + i,
          protocol: "TCP" as const,
        })),
        resources: { cpuMillis, memoryBytes },
        limits: { cpuMillis, memoryBytes },
      },
    ],
    nodeSelector: {},
    tolerations: [],
    priority: 0,
    rollout: { maxSurge: "25%", maxUnavailable: "25%" },
  };
}

export async function insertDeployment(
  f: Fixture,
  ref: { tenantId: string; clusterId: string },
  name: string,
  replicas: number,
  t: PodTemplate,
) {
  const id = newId("deployment");
  await withSystem(f.deps.db, (tx) =>
    tx.insert(deployments).values({
      id,
      tenantId: ref.tenantId,
      clusterId: ref.clusterId,
      namespace: "default",
      name,
      replicas,
      template: t,
      templateHash: `h${randomBytes(4).toString("hex")}`,
      manifest: {},
    }),
  );
  return id;
}
