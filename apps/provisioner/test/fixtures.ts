import { createHash, randomBytes } from "node:crypto";
import { generateMasterKey, newId, parseMasterKey } from "@berth/core";
import { createQueues } from "@berth/core/queues";
import {
  clusters,
  type DeploymentRow,
  deployments,
  nodes,
  type PodTemplate,
  pods,
  tenants,
  withSystem,
} from "@berth/db";
import { createTestDatabase, type TestDatabase } from "@berth/db/testing";
import { and, eq, isNotNull, isNull } from "drizzle-orm";
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
      for (const q of ["clusters", "reconcile", "sweep", "cron"] as const)
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
  labels: Record<string, string> = {},
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
      labels,
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

/** A template's hash, as the API computes one (the rollout settings left out). */
export function hashOf(t: PodTemplate): string {
  return createHash("sha256")
    .update(JSON.stringify({ ...t, rollout: null }))
    .digest("hex")
    .slice(0, 10);
}

/** A template that differs from `t` only in an environment variable (a new release). */
export function release(t: PodTemplate, version: string): PodTemplate {
  return {
    ...t,
    containers: t.containers.map((c) => ({ ...c, env: [{ name: "VERSION", value: version }] })),
  };
}

export async function insertDeployment(
  f: Fixture,
  ref: { tenantId: string; clusterId: string },
  name: string,
  replicas: number,
  t: PodTemplate,
  more: Partial<Pick<DeploymentRow, "spec" | "annotations">> = {},
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
      templateHash: hashOf(t),
      ...more,
    }),
  );
  return id;
}

export async function deploymentRow(f: Fixture, id: string): Promise<DeploymentRow> {
  const [d] = await withSystem(f.deps.db, (tx) =>
    tx.select().from(deployments).where(eq(deployments.id, id)),
  );
  if (!d) throw new Error(`no deployment ${id}`);
  return d;
}

/** A new template (and spec fields), written as the API's apply writes it: a new generation. */
export async function applyDeployment(
  f: Fixture,
  id: string,
  change: {
    template?: PodTemplate;
    replicas?: number;
    spec?: DeploymentRow["spec"];
    annotations?: Record<string, string>;
  },
) {
  const d = await deploymentRow(f, id);
  const template = change.template ?? d.template;
  const replicas = change.replicas ?? d.replicas;
  await withSystem(f.deps.db, (tx) =>
    tx
      .update(deployments)
      .set({
        template,
        templateHash: change.template ? hashOf(template) : d.templateHash,
        replicas,
        spec: change.spec ?? d.spec,
        annotations: { ...d.annotations, ...change.annotations },
        generation: d.generation + 1,
      })
      .where(eq(deployments.id, id)),
  );
}

/**
 * What a node agent reports, applied as node-sync applies it: placed pods run (ready when `ready`
 * says so, from now), pods being removed are gone. Returns the pods that run.
 */
export async function nodeReports(
  f: Fixture,
  clusterId: string,
  ready: (p: typeof pods.$inferSelect) => boolean = () => true,
) {
  return withSystem(f.deps.db, async (tx) => {
    await tx.delete(pods).where(and(eq(pods.clusterId, clusterId), isNotNull(pods.deletionRequestedAt)));
    const placed = await tx
      .select()
      .from(pods)
      .where(and(eq(pods.clusterId, clusterId), isNotNull(pods.nodeId), isNull(pods.deletionRequestedAt)));
    for (const p of placed) {
      if (p.phase === "Succeeded" || p.phase === "Failed") continue;
      const isReady = ready(p);
      await tx
        .update(pods)
        .set({
          phase: "Running",
          startedAt: p.startedAt ?? f.clock.now,
          ready: isReady,
          readyAt: isReady ? (p.ready ? p.readyAt : f.clock.now) : null,
        })
        .where(eq(pods.id, p.id));
    }
    return placed;
  });
}
