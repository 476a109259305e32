import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateMasterKey, newId } from "@berth/core";
import { createQueues, type Queues } from "@berth/core/queues";
import { clusters, deployments, type PodTemplate, tenants, withSystem } from "@berth/db";
import { createTestDatabase, systemRows, type TestDatabase } from "@berth/db/testing";
import { PIN_CRASH_POINTS } from "@berth/provisioner/crashpoints";
import { loadRegistrySigningKey, pushOciLayout, signRegistryToken } from "@berth/registry";
import { sql } from "drizzle-orm";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ISSUER,
  podman,
  SERVICE,
  startTestRegistry,
  type TestRegistry,
} from "../integration/registry-support";
import { bundled, freePort, type Proc, poll, start } from "./support";

/**
 * A Deployment's image pins across kill -9 of real provisioner processes, at each step of
 * pinning (PIN_CRASH_POINTS): after the tag was resolved, with the record written but not
 * committed, and committed before the revision was made. A healthy process then makes exactly
 * one revision, pinned to the digest the registry has, and its pods run that digest.
 */
let database: TestDatabase;
let redis: Redis;
let queues: Queues;
let reg: TestRegistry;
let masterKey: string;
let digest: string;
let deploymentId: string;
const ref = { tenantId: newId("tenant"), clusterId: newId("cluster") };
const procs: Proc[] = [];

function provisioner(crashAt: string | undefined, port: number): Proc {
  const p = start(process.execPath, [provisionerBundle], {
    DATABASE_URL: database.url,
    DATABASE_SYSTEM_URL: database.systemUrl,
    REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:56379",
    QUEUE_PREFIX: queues.prefix,
    BERTH_MASTER_KEY: masterKey,
    PROVISIONER_PORT: String(port),
    SWEEP_INTERVAL_MS: "300",
    JOB_LOCK_SECONDS: "4",
    JOB_STALLED_CHECK_SECONDS: "1",
    LOG_LEVEL: "warn",
    REGISTRY_HOST: reg.host,
    REGISTRY_URL: reg.url,
    ...(crashAt ? { BERTH_CRASH_AT: crashAt } : {}),
  });
  procs.push(p);
  return p;
}

async function killed(p: Proc, timeoutMs: number): Promise<void> {
  const exit = await Promise.race([
    p.exited.then(() => p.child.signalCode),
    new Promise((r) => setTimeout(() => r("timeout"), timeoutMs)),
  ]);
  if (exit !== "SIGKILL") throw new Error(`not killed (${String(exit)}):\n${p.output().slice(-3000)}`);
}

const row = async () =>
  (
    await systemRows(
      database.db,
      sql`select image_pins, (select count(*)::int from deployment_revisions r where r.deployment_id = d.id) as revisions from deployments d where id = ${deploymentId}`,
    )
  )[0] as { image_pins: unknown; revisions: number };

const image = () => `${reg.host}/${ref.tenantId}/web:v1`;

let provisionerBundle: string;
beforeAll(async () => {
  provisionerBundle = await bundled("apps/provisioner/src/index.ts");
  database = await createTestDatabase();
  redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:56379", { maxRetriesPerRequest: null });
  queues = createQueues(redis, `test-${randomBytes(5).toString("hex")}`);
  masterKey = generateMasterKey();
  reg = await startTestRegistry("http://127.0.0.1:1/v1/registry/token");
  // The demo image, published in the tenant's namespace with a token the test signs (the realm is never asked).
  const key = loadRegistrySigningKey(await readFile(process.env.REGISTRY_TOKEN_KEY_FILE ?? "", "utf8"));
  const dir = await mkdtemp(join(tmpdir(), "berth-pins-crash-"));
  try {
    await podman(["save", "--format", "oci-dir", "-o", join(dir, "oci"), "localhost/berth/demo-web:latest"]);
    const repository = `${ref.tenantId}/web`;
    const { token } = signRegistryToken(key, {
      issuer: ISSUER,
      service: SERVICE,
      subject: "test",
      access: [{ type: "repository", name: repository, actions: ["pull", "push"] }],
      ttlSeconds: 60,
    });
    digest = await pushOciLayout({ dir: join(dir, "oci"), registry: reg.url, repository, tag: "v1", token });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const template: PodTemplate = {
    containers: [
      {
        name: "web",
        image: image(),
        env: [],
        ports: [],
        resources: { cpuMillis: 10, memoryBytes: 16 * 1024 * 1024 },
        limits: { cpuMillis: 10, memoryBytes: 16 * 1024 * 1024 },
      },
    ],
    nodeSelector: {},
    tolerations: [],
    priority: 0,
    rollout: { maxSurge: "25%", maxUnavailable: "25%" },
  } as PodTemplate;
  deploymentId = newId("deployment");
  await withSystem(database.db, async (tx) => {
    await tx.insert(tenants).values({ id: ref.tenantId, name: `t-${randomBytes(4).toString("hex")}` });
    await tx
      .insert(clusters)
      .values({ ...ref, id: ref.clusterId, name: "c", status: "active", activeAt: new Date() });
    await tx.insert(deployments).values({
      id: deploymentId,
      ...ref,
      namespace: "default",
      name: "web",
      replicas: 2,
      template,
      templateHash: "0a1b2c3d4e",
    });
  });
}, 60_000);

afterAll(async () => {
  for (const p of procs)
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill("SIGTERM");
      await p.exited;
    }
  for (const q of ["clusters", "reconcile", "sweep", "machines", "cron"] as const)
    await queues.get(q).obliterate({ force: true });
  await queues.close();
  await redis.quit();
  await reg?.close();
  await database.drop();
}, 60_000);

describe("a Deployment's image pins across kill -9 of the provisioner", () => {
  it("makes one revision, pinned to the registry's digest, whichever step the process died at", async () => {
    expect(PIN_CRASH_POINTS).toEqual(["pins.resolved", "pins.before-commit", "pins.recorded"]);
    // Resolved, nothing written; written, not committed: nothing is left either time.
    await killed(provisioner("pins.resolved", await freePort()), 30_000);
    expect(await row()).toEqual({ image_pins: null, revisions: 0 });
    await killed(provisioner("pins.before-commit", await freePort()), 30_000);
    expect(await row()).toEqual({ image_pins: null, revisions: 0 });
    // Committed: the record is there, its revision not yet.
    await killed(provisioner("pins.recorded", await freePort()), 30_000);
    const pinned = `${reg.host}/${ref.tenantId}/web@${digest}`;
    expect(await row()).toEqual({
      image_pins: { hash: "0a1b2c3d4e", images: { [image()]: pinned }, failed: [] },
      revisions: 0,
    });
    // A healthy process makes the revision from the record, and its pods.
    const healthy = provisioner(undefined, await freePort());
    const podImages = await poll(
      "two pods of the pinned revision",
      async () => {
        const rows = await systemRows(
          database.db,
          sql`select template -> 'containers' -> 0 ->> 'image' as image from pods where deployment_id = ${deploymentId}`,
        );
        return rows.length === 2 ? rows.map((r) => r.image) : null;
      },
      30_000,
    );
    expect(podImages).toEqual([pinned, pinned]);
    const revisions = await systemRows(
      database.db,
      sql`select revision, images from deployment_revisions where deployment_id = ${deploymentId}`,
    );
    expect(revisions).toEqual([{ revision: 1, images: { [image()]: pinned } }]);
    healthy.child.kill("SIGTERM");
    await healthy.exited;
  }, 180_000);
});
