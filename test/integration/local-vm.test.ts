import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { systemRows } from "@berth/db/testing";
import { createLocalVmProvider } from "@berth/provisioner/local-vm";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "./ec2-support";
import {
  answerOf,
  demoFromRegistry,
  type LocalVmPlatform,
  type PodView,
  startLocalVmPlatform,
} from "./local-vm-support";

/**
 * A local-vm node pool against real QEMU, as a user drives it: two VMs boot the guest image
 * (infra/guest/build.sh), fetch the agent this control API serves, join and heartbeat; a Deployment
 * of the platform's image in Berth's registry runs on both (each VM pulls it and the pod sandbox
 * with its node's credential, and runs the pods with the agent's own runtime), and each pod answers
 * HTTP from the host through its VM's forwarded port. A VM killed with SIGKILL is replaced and its pod
 * runs on the other meanwhile; shrunk to one VM, the pool stops one and its pods move; the cluster
 * deleted, no QEMU process or VM file is left. Under TCG a boot costs a core for several seconds:
 * this file boots three VMs in all.
 */
let p: LocalVmPlatform;

beforeAll(async () => {
  p = await startLocalVmPlatform({ slots: 3 });
}, 120_000);
afterAll(async () => {
  await p?.close();
});

interface NodeView {
  id: string;
  name: string;
  status: string;
  lastHeartbeatAt: string;
}
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

describe("a local-vm node pool", () => {
  it("boots VMs that run a Deployment from the registry, replaces a killed one, shrinks, and leaves nothing when the cluster goes", async () => {
    const { api, dir } = p;
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
      maxSize: 2,
      desiredSize: 2,
    });
    expect(pool.status, pool.text).toBe(202);
    const poolPath = `/v1/clusters/${clusterId}/node-pools/${pool.body.id}`;
    const nodes = async (): Promise<NodeView[]> =>
      (await call("GET", `/v1/clusters/${clusterId}/nodes`)).body.items;
    const ready = async () => (await nodes()).filter((n) => n.status === "ready");
    const [first, second] = await waitFor(
      "both VMs' nodes ready",
      async () => {
        const r = await ready();
        return r.length === 2 && r;
      },
      240_000,
    );
    if (!first || !second) throw new Error("two nodes expected");
    const machines = async () =>
      (await systemRows(
        api.deps.db,
        sql`select id, instance_id, node_id from machines where status <> 'terminated' order by created_at`,
      )) as { id: string; instance_id: string; node_id: string | null }[];
    const vms = await machines();
    const rss = await Promise.all(
      vms.map(async (m) => {
        const status = await readFile(`/proc/${await p.qemuPid(m.instance_id)}/status`, "utf8");
        return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024);
      }),
    );
    const meta = JSON.parse(await readFile(join(dir, vms[0]?.instance_id ?? "", "meta.json"), "utf8"));
    console.log(
      `local-vm: pool of 2 created → both nodes ready ${seconds(started)}; QEMU RSS ${rss.join(" and ")} MiB ` +
        `(${meta.memoryMiB} MiB guests, ${meta.vcpus} vCPUs, ${meta.accel})`,
    );

    // The Deployment: one pod a VM, each answering the host. One replica first, then two, so that
    // the second is spread away from the first (ScheduleAnyway weighs pods already placed).
    const applied = Date.now();
    const deploymentPath = `/v1/clusters/${clusterId}/deployments/default/web`;
    const put = await call("PUT", deploymentPath, demoFromRegistry(p.reg, 1));
    expect(put.status, put.text).toBeLessThan(300);
    const pods = async (): Promise<PodView[]> =>
      (await call("GET", `/v1/clusters/${clusterId}/pods?namespace=default`)).body.items;
    const answering = async (expected: number) => {
      const running = (await pods()).filter((x) => x.phase === "Running");
      if (running.length !== expected) return null;
      const answers = await Promise.all(running.map((x) => answerOf(x.hostPorts[0] ?? 0)));
      return answers.every((a) => a?.includes("Hello from Berth demo-web")) ? running : null;
    };
    await waitFor("the first pod answering the host", () => answering(1), 180_000);
    expect((await call("PUT", deploymentPath, demoFromRegistry(p.reg, 2))).status).toBeLessThan(300);
    const both = await waitFor("both pods answering the host", () => answering(2), 180_000);
    console.log(`local-vm: deployment applied → both pods answering the host ${seconds(applied)}`);
    expect(new Set(both.map((x) => x.nodeId))).toEqual(new Set([first.id, second.id]));

    // The console of a machine, for its tenant only.
    const consolePath = `${poolPath}/machines/${vms[0]?.id}/console`;
    const out = await call("GET", consolePath);
    expect(out.status, out.text).toBe(200);
    expect(out.body.instanceId).toBe(vms[0]?.instance_id);
    console.log(
      out.body.output
        .split("\n")
        .filter((l: string) => l.startsWith("berth-guest:"))
        .join("\n"),
    );
    expect(out.body.output).toContain("checksum verified");
    expect(out.body.output).not.toContain("the container runtime is unavailable");
    expect(out.body.output.length).toBeLessThanOrEqual(64 * 1024);
    expect((await api.call("GET", consolePath, { token: other.token })).status).toBe(404);
    // A restarted provisioner (a new provider over the same directory) finds the VMs and adopts them.
    const again = createLocalVmProvider(p.options);
    expect((await again.listOwned({ clusterId })).map((i) => i.state)).toEqual(["running", "running"]);

    // One VM killed behind the platform's back: its pod runs on the other, and a new VM replaces it.
    const victim = vms.find((m) => m.node_id === first.id) ?? vms[0];
    const killed = Date.now();
    process.kill(await p.qemuPid(victim?.instance_id ?? ""), "SIGKILL");
    await waitFor(
      "both pods answering from the surviving VM",
      async () => {
        const running = await answering(2);
        return running?.every((x) => x.nodeId === second.id) && running;
      },
      180_000,
    );
    const movedAfter = seconds(killed);
    const replacement = await waitFor(
      "a replacement VM's node ready",
      async () => (await ready()).find((n) => n.id !== first.id && n.id !== second.id),
      240_000,
    );
    console.log(
      `local-vm: a VM killed → its pod answering from the other ${movedAfter}; → a replacement node ready ${seconds(killed)}`,
    );
    expect((await machines()).map((m) => m.instance_id)).not.toContain(victim?.instance_id);
    expect(existsSync(join(dir, victim?.instance_id ?? ""))).toBe(false);

    // Shrunk to one VM: one is stopped, and both pods answer from the one left.
    const shrunk = Date.now();
    expect((await call("PATCH", poolPath, { desiredSize: 1 })).status).toBe(202);
    const [left] = await waitFor(
      "one machine left",
      async () => {
        const m = await machines();
        return m.length === 1 && p.qemuPids().length === 1 && m;
      },
      180_000,
    );
    const survivor = left?.node_id;
    expect([second.id, replacement.id]).toContain(survivor);
    await waitFor(
      "both pods answering from the VM left",
      async () => {
        const running = await answering(2);
        return running?.every((x) => x.nodeId === survivor) && running;
      },
      180_000,
    );
    console.log(
      `local-vm: shrunk to 1 → one VM stopped and both pods answering from the other ${seconds(shrunk)}`,
    );

    // The cluster deleted: no QEMU, no VM file, no port claim.
    expect((await call("DELETE", `/v1/clusters/${clusterId}`)).status).toBe(202);
    await waitFor(
      "the cluster deleted",
      async () => (await machines()).length === 0 && p.qemuPids().length === 0,
      180_000,
    );
    expect((await readdir(dir)).filter((f) => f.startsWith("vm-"))).toEqual([]);
    expect((await readdir(join(dir, ".slots"))).length).toBe(0);
  }, 900_000);

  it("a VM whose QEMU was killed is terminated, and released without a trace", async () => {
    const provider = createLocalVmProvider(p.options);
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
    expect(p.qemuPids()).toHaveLength(1);
    process.kill(await p.qemuPid(instanceId), "SIGKILL");
    await waitFor(
      "describe says terminated",
      async () => (await provider.describe(instanceId))?.state === "terminated",
    );
    expect((await provider.listOwned({ clusterId: "cl_killed" }))[0]?.state).toBe("terminated");
    await provider.release?.(instanceId);
    expect(await provider.describe(instanceId)).toBeNull();
    expect(existsSync(join(p.dir, instanceId))).toBe(false);
    expect(p.qemuPids()).toEqual([]);
  }, 60_000);
});
