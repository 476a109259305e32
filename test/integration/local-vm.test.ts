import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createTestApi, type TestApi } from "@berth/control-api/testing";
import { createLogger } from "@berth/core";
import { systemRows } from "@berth/db/testing";
import { createLocalVmProvider, guestApiUrl, type LocalVmOptions } from "@berth/provisioner/local-vm";
import { createTestProvisionerDeps, startTestProvisioner } from "@berth/provisioner/testing";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../e2e/support";
import { waitFor } from "./ec2-support";
import {
  publishPlatformImage,
  registryTokenSettings,
  startTestRegistry,
  type TestRegistry,
} from "./registry-support";

/**
 * A local-vm node pool against real QEMU: one VM boots the guest image (infra/guest/build.sh),
 * fetches the agent this control API serves, joins and heartbeats; its console is read through
 * the API; it pulls a Deployment's image and the pod sandbox from Berth's registry (the node's
 * credential, the token service of this API) and runs the pod with its own runtime, which answers
 * HTTP from the host through the VM's forwarded port; scaling the pool to zero stops it and leaves
 * no process or file. Under TCG a boot costs
 * a core for several seconds: this file boots one VM, and starts a second QEMU only to kill it.
 */
const REPO = resolve(import.meta.dirname, "../..");
let api: TestApi;
let server: { url: string; close(): Promise<void> };
let workers: { stop(): Promise<void> };
let dir: string;
let options: LocalVmOptions;
let reg: TestRegistry;

const qemuPids = () =>
  execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes("qemu-system-x86_64") && l.includes(dir));

beforeAll(async () => {
  // Built by infra/services.sh up; a no-op when the image of these inputs exists.
  const imageDir = execFileSync("bash", [join(REPO, "infra/guest/build.sh")], { encoding: "utf8" }).trim();
  dir = await mkdtemp(join(tmpdir(), "berth-vms-"));
  const registry = await registryTokenSettings();
  // The registry's port first: the API admits its images, and it sends clients to the API for tokens.
  const registryPort = await freePort();
  api = await createTestApi({
    localVmDir: dir,
    registry,
    allowedImagePrefixes: [`127.0.0.1:${registryPort}/`],
  });
  await api.deps.agent.bundle(); // what the guest fetches, built before the clock starts
  server = await api.listen();
  reg = await startTestRegistry(`${server.url}/v1/registry/token`, registryPort);
  await publishPlatformImage(reg, registry, "localhost/berth/demo-web:latest", "library/demo-web");
  await publishPlatformImage(reg, registry, "localhost/berth/pause:latest", "library/pause");
  options = {
    dir,
    imageDir,
    guestApiUrl: guestApiUrl(server.url),
    registry: reg.host,
    ports: { base: 47_000 + (process.pid % 100) * 20, size: 4, slots: 2 },
    maxMemoryMiB: 1024,
    scratchDiskGiB: 2,
    accel: "auto",
    accelCacheFile: join(REPO, ".data/guest/accel.json"),
    qemu: "qemu-system-x86_64",
    zone: "local",
    logger: createLogger("provisioner", "silent"),
  };
  workers = await startTestProvisioner(
    createTestProvisionerDeps({
      db: api.deps.db,
      redis: api.deps.redis,
      queues: api.deps.queues,
      master: api.deps.master,
      providers: { "local-vm": createLocalVmProvider(options) },
      // A guest under TCG is slow: its heartbeats (every 2 s) may lag.
      timings: { nodeLeaseMs: 20_000, machineRepairTimeoutMs: 120_000, drainTimeoutMs: 15_000 },
    }),
  );
}, 120_000);

afterAll(async () => {
  await workers?.stop();
  await reg?.close();
  await server?.close();
  await api?.close();
  for (const line of dir ? qemuPids() : []) process.kill(Number(line.trim().split(" ")[0]), "SIGKILL");
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("local-vm machines", () => {
  it("boot, join and heartbeat; their console is served; scaled to zero they leave no process or file", async () => {
    const { token } = await api.tenant("vms");
    const other = await api.tenant("vms-other");
    const call = (method: string, path: string, body?: unknown) => api.call(method, path, { token, body });
    const clusterId = (await call("POST", "/v1/clusters", { name: "c" })).body.id as string;
    await waitFor(
      "cluster active",
      async () => (await call("GET", `/v1/clusters/${clusterId}`)).body.status === "active",
    );

    // A VM has no GPU to offer.
    const gpu = await call("POST", `/v1/clusters/${clusterId}/node-pools`, {
      name: "gpus",
      provider: "local-vm",
      instanceType: "gpu",
      desiredSize: 1,
    });
    expect(gpu.status, gpu.text).toBe(400);
    expect(gpu.body.error.message).toContain("no berth.dev/gpu");

    const started = Date.now();
    const pool = await call("POST", `/v1/clusters/${clusterId}/node-pools`, {
      name: "vms",
      provider: "local-vm",
      instanceType: "small",
      minSize: 0,
      maxSize: 1,
      desiredSize: 1,
    });
    expect(pool.status, pool.text).toBe(202);
    const nodes = async () => (await call("GET", `/v1/clusters/${clusterId}/nodes`)).body.items;
    const node = await waitFor(
      "the VM's node ready",
      async () => (await nodes()).find((n: { status: string }) => n.status === "ready"),
      120_000,
    );
    const readyAt = Date.now();
    const [machine] = await systemRows(
      api.deps.db,
      sql`select id, instance_id from machines where status <> 'terminated'`,
    );
    const instanceId = String(machine?.instance_id);
    const pid = Number((await readFile(join(dir, instanceId, "qemu.pid"), "utf8")).trim());
    // Detached: its own session, so a provisioner killed (or its terminal's Ctrl-C) leaves it running.
    const statOf = async (p: number | "self") =>
      (await readFile(`/proc/${p}/stat`, "utf8")).split(") ")[1]?.split(" ") ?? [];
    expect((await statOf(pid))[3]).not.toBe((await statOf("self"))[3]);
    const rssMiB = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
    const meta = JSON.parse(await readFile(join(dir, instanceId, "meta.json"), "utf8"));
    console.log(
      `local-vm: pool created → node ready ${((readyAt - started) / 1000).toFixed(1)} s ` +
        `(QEMU started → node ready ${((readyAt - Date.parse(meta.createdAt)) / 1000).toFixed(1)} s); ` +
        `QEMU RSS ${rssMiB.toFixed(0)} MiB (${meta.memoryMiB} MiB guest, ${meta.vcpus} vCPUs, ${meta.accel})`,
    );
    expect(node).toMatchObject({
      address: "127.0.0.1",
      labels: { "berth.io/pool": "vms", "topology.kubernetes.io/zone": "local" },
    });

    // Heartbeats keep coming.
    const first = Date.parse(node.lastHeartbeatAt);
    await waitFor(
      "a later heartbeat",
      async () => {
        const n = (await nodes()).find((x: { id: string }) => x.id === node.id);
        return n.status === "ready" && Date.parse(n.lastHeartbeatAt) > first;
      },
      30_000,
    );

    // A Deployment from Berth's registry: the VM pulls it and the pod sandbox, and its pod answers
    // the host at the port the VM forwards.
    const runStarted = Date.now();
    const put = await call("PUT", `/v1/clusters/${clusterId}/deployments/default/web`, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            containers: [
              {
                name: "web",
                image: `${reg.host}/library/demo-web:latest`,
                ports: [{ containerPort: 8080 }],
                resources: { requests: { cpu: "100m", memory: "32Mi" } },
              },
            ],
          },
        },
      },
    });
    expect(put.status, put.text).toBeLessThan(300);
    const pods = async () =>
      (await call("GET", `/v1/clusters/${clusterId}/pods?namespace=default`)).body.items;
    const pod = await waitFor(
      "the pod running in the VM",
      async () => (await pods()).find((p: { phase: string }) => p.phase === "Running"),
      120_000,
    );
    const hostPort = pod.hostPorts[0] as number;
    const answer = await waitFor(
      "the pod's answer from the host",
      async () => {
        const res = await fetch(`http://127.0.0.1:${hostPort}/`).catch(() => null);
        return res?.ok ? await res.text() : null;
      },
      30_000,
    );
    console.log(
      `local-vm: deployment applied → its pod answering the host ${((Date.now() - runStarted) / 1000).toFixed(1)} s`,
    );
    expect(answer).toContain("Hello from Berth demo-web");
    expect(pod.nodeId).toBe(node.id);

    // The console: the guest's boot and the agent.
    const consolePath = `/v1/clusters/${clusterId}/node-pools/${pool.body.id}/machines/${machine?.id}/console`;
    const out = await call("GET", consolePath);
    expect(out.status, out.text).toBe(200);
    expect(out.body.instanceId).toBe(instanceId);
    // The guest's own timeline (seconds since its kernel started), for whoever reads the figures.
    console.log(
      out.body.output
        .split("\n")
        .filter((l: string) => l.startsWith("berth-guest:"))
        .join("\n"),
    );
    expect(out.body.output).toContain("berth-guest: agent");
    expect(out.body.output).toContain("checksum verified");
    expect(out.body.output).not.toContain("the container runtime is unavailable");
    expect(out.body.output.length).toBeLessThanOrEqual(64 * 1024);
    // Another tenant does not see it.
    expect((await api.call("GET", consolePath, { token: other.token })).status).toBe(404);

    // A restarted provisioner (a new provider over the same directory) finds the VM and adopts it.
    const again = createLocalVmProvider(options);
    expect((await again.listOwned({ clusterId })).map((i) => [i.instanceId, i.state])).toEqual([
      [instanceId, "running"],
    ]);

    // Scaled to zero: the node leaves, QEMU stops, the VM's files go.
    expect(
      (await call("PATCH", `/v1/clusters/${clusterId}/node-pools/${pool.body.id}`, { desiredSize: 0 }))
        .status,
    ).toBe(202);
    await waitFor(
      "the machine terminated",
      async () => {
        const rows = await systemRows(
          api.deps.db,
          sql`select status from machines where status <> 'terminated'`,
        );
        return rows.length === 0;
      },
      60_000,
    );
    expect(qemuPids()).toEqual([]);
    expect(existsSync(join(dir, instanceId))).toBe(false);
    expect((await readdir(join(dir, ".slots"))).length).toBe(0);
  }, 240_000);

  it("a VM whose QEMU was killed is terminated, and released without a trace", async () => {
    const provider = createLocalVmProvider(options);
    const spec = {
      machineId: "m_killed",
      tenantId: "t",
      clusterId: "cl_killed",
      poolId: "np_killed",
      instanceType: "small" as const,
      userData: "",
      boot: { joinToken: "bjt_never_used", nodeName: "killed" },
    };
    const { instanceId } = await provider.create(spec);
    expect((await provider.create(spec)).instanceId).toBe(instanceId); // idempotent: no second QEMU
    expect(qemuPids()).toHaveLength(1);
    const pid = Number((await readFile(join(dir, instanceId, "qemu.pid"), "utf8")).trim());
    process.kill(pid, "SIGKILL");
    await waitFor(
      "describe says terminated",
      async () => (await provider.describe(instanceId))?.state === "terminated",
    );
    expect((await provider.listOwned({ clusterId: "cl_killed" }))[0]?.state).toBe("terminated");
    await provider.release?.(instanceId);
    expect(await provider.describe(instanceId)).toBeNull();
    expect(existsSync(join(dir, instanceId))).toBe(false);
    expect(qemuPids()).toEqual([]);
  }, 60_000);
});
