import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@berth/core";
import { type Assignment, assignmentSchema, CONTAINER_LABELS } from "@berth/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testSettings } from "./env";
import { CONFORMANCE_IMAGE, ensureConformanceImage } from "./runtime/conformance-image";
import { createDockerEngineRuntime } from "./runtime/docker-engine";
import { createEngineClient } from "./runtime/engine-http";
import { enforceEphemeralStorage } from "./storage";
import { PodSupervisor } from "./supervisor";

/** The pod supervisor against real containers (no control plane: assignments are handed in). */
const url = testSettings().containerHost;
const runtime = createDockerEngineRuntime({ url });
const nodeId = `node_sup${randomBytes(4).toString("hex")}`;
const identity = { nodeId, clusterId: "cl_test", installationId: `inst${randomBytes(6).toString("hex")}` };
const logger = createLogger("node-agent", "silent");

const pod = (name: string, containers: object[], extra: Partial<Assignment> = {}): Assignment =>
  assignmentSchema.parse({
    podId: `pod_${name}${randomBytes(3).toString("hex")}`,
    name,
    namespace: "default",
    action: "run",
    hostPorts: [],
    containers,
    // The image's httpd ignores SIGTERM: stops take the whole grace period.
    terminationGracePeriodSeconds: 1,
    ...extra,
  });
const container = (extra: object = {}) => ({
  name: "main",
  image: CONFORMANCE_IMAGE,
  env: [],
  ports: [],
  resources: { cpuMillis: 100, memoryBytes: 64 * 1024 ** 2 },
  limits: { cpuMillis: 100, memoryBytes: 64 * 1024 ** 2 },
  ...extra,
});
const until = async <T>(what: string, probe: () => T | null | undefined | false, ms = 30_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

let supervisor: PodSupervisor;
let podsDir: string;
beforeAll(async () => {
  await ensureConformanceImage(createEngineClient({ url }));
  podsDir = await mkdtemp(join(tmpdir(), "berth-supervisor-"));
  supervisor = new PodSupervisor(runtime, identity, {
    publishAddress: "127.0.0.1",
    stopTimeoutSeconds: 1,
    concurrency: 4,
    podsDir,
    logger,
    onChange: () => {},
  });
}, 60_000);
afterAll(async () => {
  await supervisor.stop();
  for (const c of await runtime.list({ [CONTAINER_LABELS.node]: nodeId })) await runtime.remove(c.id);
  await rm(podsDir, { recursive: true, force: true });
});

describe("the pod supervisor", () => {
  it("starts pods side by side; one whose image cannot be pulled says so in fixed words and holds up no other", async () => {
    const bad = pod("bad", [container({ image: "127.0.0.1:9/berth/nowhere:v1" })]);
    const good = Array.from({ length: 4 }, (_, i) => pod(`good${i}`, [container()]));
    supervisor.setAssignments([bad, ...good]);
    const reports = await until("good pods running and the bad one failing", () => {
      const r = supervisor.report();
      const ok = good.every((g) => r.find((x) => x.podId === g.podId)?.state === "running");
      const failed = r.find((x) => x.podId === bad.podId)?.reason === "ErrImagePull";
      return ok && failed && r;
    });
    expect(reports.find((x) => x.podId === bad.podId)).toMatchObject({
      podId: bad.podId,
      state: "failed",
      phase: "Pending",
      restarts: 0,
      ready: false,
      reason: "ErrImagePull",
      message: 'could not pull image "127.0.0.1:9/berth/nowhere:v1": not found or not reachable',
      containers: [
        {
          name: "main",
          ready: false,
          restartCount: 0,
          state: {
            waiting: {
              reason: "ErrImagePull",
              message: 'could not pull image "127.0.0.1:9/berth/nowhere:v1": not found or not reachable',
            },
          },
        },
      ],
    });
  }, 60_000);

  it("evicts a pod whose container wrote more than its ephemeral-storage limit, and reports it Evicted", async () => {
    const writer = pod("writer", [
      container({
        command: ["/bin/sh", "-c", "head -c 20971520 /dev/zero > /tmp/fill; sleep 300"],
        limits: { cpuMillis: 100, memoryBytes: 64 * 1024 ** 2, ephemeralStorageBytes: 8 * 1024 ** 2 },
      }),
    ]);
    const quiet = pod("quiet", [
      container({
        limits: { cpuMillis: 100, memoryBytes: 64 * 1024 ** 2, ephemeralStorageBytes: 8 * 1024 ** 2 },
      }),
    ]);
    supervisor.setAssignments([writer, quiet]);
    await until("both running", () =>
      [writer, quiet].every((a) => supervisor.report().find((x) => x.podId === a.podId)?.state === "running"),
    );
    let evicted: string[] = [];
    const deadline = Date.now() + 20_000;
    while (evicted.length === 0 && Date.now() < deadline) {
      evicted = await enforceEphemeralStorage(runtime, supervisor, nodeId);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(evicted).toEqual([writer.podId]);
    const report = await until("writer evicted and gone", () => {
      const r = supervisor.report().find((x) => x.podId === writer.podId);
      return r?.reason === "Evicted" && r;
    });
    expect(report).toMatchObject({ state: "failed", ready: false, reason: "Evicted" });
    // The usage is what was measured when it was first over: up to the 20 MiB written. Measured
    // mid-write it may be no whole MiB, and below 10 MiB such a size is written in Ki.
    const [, amount = "0", unit] =
      /^ephemeral-storage usage (\d+)(Ki|Mi) exceeds the limit of 8Mi \(container "main"\)$/.exec(
        report.message ?? "",
      ) ?? [];
    const usageMiB = unit === "Ki" ? Number(amount) / 1024 : Number(amount);
    expect(usageMiB).toBeGreaterThan(8);
    expect(usageMiB).toBeLessThanOrEqual(21);
    await supervisor.idle();
    expect(await runtime.list({ [CONTAINER_LABELS.pod]: writer.podId })).toEqual([]);
    expect(supervisor.report().find((x) => x.podId === quiet.podId)?.state).toBe("running");
  }, 60_000);

  it("stops what the assignments no longer name, and reports a pod told to stop gone once it is", async () => {
    const keep = pod("keep", [container()]);
    supervisor.setAssignments([keep]);
    await until(
      "keep running",
      () => supervisor.report().find((x) => x.podId === keep.podId)?.state === "running",
    );
    await supervisor.idle();
    // The pod's container and its sandbox (pods/sandbox.ts), nothing else.
    expect(
      (await runtime.list({ [CONTAINER_LABELS.node]: nodeId }))
        .map((c) => `${c.labels[CONTAINER_LABELS.pod]}/${c.labels[CONTAINER_LABELS.container]}`)
        .sort(),
    ).toEqual([`${keep.podId}/POD`, `${keep.podId}/main`]);
    supervisor.setAssignments([{ ...keep, action: "stop" }]);
    await until("keep gone", () => supervisor.report().find((x) => x.podId === keep.podId)?.state === "gone");
  }, 60_000);
});
