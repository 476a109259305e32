import { systemRows } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cloud, startCloud, startCloudProvisioner } from "./cloud";
import { poll } from "./support";

/**
 * Issue #4's EC2 walk: a pool of 3 on the EC2-compatible endpoint becomes 3 joined nodes; scaling
 * to 1 terminates 2; a machine that dies is replaced; an agent that dies makes its node not_ready
 * and its pods run elsewhere (timed); deleting the cluster leaves no instance running.
 */
let cloud: Cloud;
let stopProvisioner: () => Promise<void>;
let token: string;
let clusterId: string;
let poolId: string;
const figures: Record<string, number> = {};

const liveInstances = () =>
  cloud.ec2.instances().filter((i) => i.state === "pending" || i.state === "running");
const call = (method: string, path: string, body?: unknown) => cloud.api.call(method, path, { token, body });
const poolMachines = async () =>
  (await call("GET", `/v1/clusters/${clusterId}/node-pools/${poolId}`)).body.machines;
const machineStatus = async (instanceId: string) =>
  (
    await systemRows(cloud.api.deps.db, sql`select status from machines where instance_id = ${instanceId}`)
  ).map((m) => m.status);
const readyNodes = async () =>
  (await call("GET", `/v1/clusters/${clusterId}/nodes`)).body.items.filter(
    (n: { status: string }) => n.status === "ready",
  );

beforeAll(async () => {
  cloud = await startCloud();
  stopProvisioner = await startCloudProvisioner(cloud, {
    nodeLeaseMs: 6_000,
    podEvictionMs: 8_000,
    machineRepairTimeoutMs: 15_000,
    drainTimeoutMs: 10_000,
  });
  ({ token } = await cloud.api.tenant("ec2-tenant"));
  const c = await call("POST", "/v1/clusters", { name: "prod" });
  clusterId = c.body.id;
  await poll(
    "cluster active",
    async () => (await call("GET", `/v1/clusters/${clusterId}`)).body.status === "active",
  );
}, 120_000);

afterAll(async () => {
  await stopProvisioner?.();
  await cloud?.close();
}, 120_000);

describe("an ec2 node pool", () => {
  it("of 3 becomes 3 joined nodes carrying the pool's labels", async () => {
    const started = Date.now();
    const r = await call("POST", `/v1/clusters/${clusterId}/node-pools`, {
      name: "general",
      provider: "ec2",
      instanceType: "small",
      minSize: 0,
      maxSize: 5,
      desiredSize: 3,
      labels: { tier: "general" },
    });
    expect(r.status).toBe(202);
    poolId = r.body.id;
    const nodes = await poll(
      "3 ready nodes",
      async () => {
        const ready = await readyNodes();
        return ready.length === 3 && ready;
      },
      120_000,
    );
    figures.joinThreeSeconds = (Date.now() - started) / 1000;
    expect(liveInstances()).toHaveLength(3);
    for (const n of nodes) {
      expect(n.labels).toMatchObject({
        tier: "general",
        "berth.io/pool": "general",
        "berth.io/instance-type": "small",
      });
      expect(n.capacity).toMatchObject({ cpuMillis: 2000, memoryBytes: 4 * 1024 ** 3 });
    }
    // Each instance carries Berth's tags and was launched exactly once per machine.
    const machineTags = liveInstances().map((i) => i.tags["berth:machine"]);
    expect(new Set(machineTags).size).toBe(3);
    const runs = cloud.ec2.calls().filter((c) => c.action === "RunInstances");
    expect(runs).toHaveLength(3);
    await poll(
      "3 machines running",
      async () => (await poolMachines()).running === 3 && (await poolMachines()).launching === 0,
    );
  });

  it("runs a deployment across its nodes", async () => {
    const manifest = {
      spec: {
        replicas: 3,
        template: {
          spec: {
            containers: [
              {
                name: "web",
                image: "localhost/berth/demo-web:latest",
                ports: [{ containerPort: 8080 }],
                resources: { requests: { cpu: "500m", memory: "64Mi" } },
              },
            ],
          },
        },
      },
    };
    expect((await call("PUT", `/v1/clusters/${clusterId}/deployments/default/web`, manifest)).status).toBe(
      200,
    );
    await poll(
      "3 ready replicas",
      async () =>
        (await call("GET", `/v1/clusters/${clusterId}/deployments/default/web`)).body.status.readyReplicas ===
        3,
      90_000,
    );
  });

  it("replaces pods of a node whose agent died, and measures how fast", async () => {
    const pods = (await call("GET", `/v1/clusters/${clusterId}/pods`)).body.items;
    const victimNode = pods[0].nodeId as string;
    const victimPods = pods
      .filter((p: { nodeId: string }) => p.nodeId === victimNode)
      .map((p: { id: string }) => p.id);
    const node = (await readyNodes()).find((n: { id: string }) => n.id === victimNode);
    const instance = cloud.ec2
      .instances()
      .find((i) => i.tags["berth:machine"] === node.labels["berth.io/machine"]);
    const pid = instance?.userDataRun?.pid;
    expect(pid).toBeGreaterThan(0);
    const killed = Date.now();
    process.kill(-(pid ?? 0), "SIGKILL"); // the agent only: the "machine" stays up
    await poll(
      "node not_ready",
      async () =>
        (await call("GET", `/v1/clusters/${clusterId}/nodes`)).body.items.find(
          (n: { id: string }) => n.id === victimNode,
        )?.status === "not_ready",
      60_000,
    );
    figures.agentKilledToNotReadySeconds = (Date.now() - killed) / 1000;
    await poll(
      "pods running elsewhere",
      async () => {
        const now = (await call("GET", `/v1/clusters/${clusterId}/pods`)).body.items;
        return (
          now.length === 3 &&
          now.every(
            (p: { id: string; nodeId: string; phase: string; ready: boolean }) =>
              !victimPods.includes(p.id) && p.nodeId !== victimNode && p.phase === "Running" && p.ready,
          )
        );
      },
      90_000,
    );
    figures.agentKilledToPodsRunningElsewhereSeconds = (Date.now() - killed) / 1000;
    // Past the repair timeout its machine is replaced: the pool is back to 3 ready nodes.
    await poll(
      "machine repaired",
      async () => {
        const ready = await readyNodes();
        const m = await poolMachines();
        return (
          ready.length === 3 &&
          !ready.some((n: { id: string }) => n.id === victimNode) &&
          m.running === 3 &&
          m.terminating === 0
        );
      },
      120_000,
    );
    figures.agentKilledToMachineReplacedSeconds = (Date.now() - killed) / 1000;
    expect(await machineStatus(instance?.instanceId ?? "")).toEqual(["terminated"]);
    await poll("old instance terminated", async () => liveInstances().length === 3);
  });

  it("replaces a machine that dies", async () => {
    const [victim] = liveInstances();
    const crashed = Date.now();
    await cloud.ec2.crash(victim?.instanceId ?? "");
    await poll(
      "replacement joined",
      async () => {
        const m = await poolMachines();
        const terminated = (await machineStatus(victim?.instanceId ?? ""))[0] === "terminated";
        return (
          terminated &&
          m.running === 3 &&
          m.launching === 0 &&
          (await readyNodes()).length === 3 &&
          liveInstances().length === 3
        );
      },
      120_000,
    );
    figures.machineCrashedToReplacedSeconds = (Date.now() - crashed) / 1000;
  });

  it("scaled to 1 terminates 2 machines and keeps the workload running", async () => {
    const r = await call("PATCH", `/v1/clusters/${clusterId}/node-pools/${poolId}`, {
      desiredSize: 1,
      minSize: 0,
    });
    expect(r.status).toBe(202);
    await poll(
      "1 live instance",
      async () => {
        const m = await poolMachines();
        return (
          liveInstances().length === 1 &&
          (await readyNodes()).length === 1 &&
          m.running === 1 &&
          m.terminating === 0
        );
      },
      120_000,
    );
    expect(cloud.ec2.calls().filter((c) => c.action === "TerminateInstances").length).toBeGreaterThanOrEqual(
      2,
    );
    // 3 × 500m no longer fit one 2-CPU node minus nothing: 3 fit (1500m ≤ 2000m).
    await poll(
      "replicas back on the remaining node",
      async () =>
        (await call("GET", `/v1/clusters/${clusterId}/deployments/default/web`)).body.status.readyReplicas ===
        3,
      90_000,
    );
  });

  it("is gone with its cluster: no instance left running, nothing metered", async () => {
    expect((await call("DELETE", `/v1/clusters/${clusterId}`)).status).toBe(202);
    await poll(
      "cluster deleted",
      async () => (await call("GET", `/v1/clusters/${clusterId}`)).body.status === "deleted",
      120_000,
    );
    expect(liveInstances()).toEqual([]);
    const open = await systemRows(
      cloud.api.deps.db,
      sql`select count(*)::int as n from meter_intervals where cluster_id = ${clusterId} and ended_at is null`,
    );
    expect(open[0]?.n).toBe(0);
    const usage = await call(
      "GET",
      `/v1/usage?from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date().toISOString()}`,
    );
    expect(usage.body.lines.map((l: { meter: string }) => l.meter)).toContain("machine_small_hours");
    console.log(`ec2 figures: ${JSON.stringify(figures)}`);
  });
});
