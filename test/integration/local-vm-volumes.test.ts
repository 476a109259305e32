import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { systemRows } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "./ec2-support";
import { answerOf, type LocalVmPlatform, type PodView, startLocalVmPlatform } from "./local-vm-support";

/**
 * A PersistentVolumeClaim on a local-vm pool, against real QEMU: the claim gets a qcow2 disk, the
 * disk is hot-plugged (QMP) into the VM that runs the claim's pod, whose agent formats and mounts
 * it; the pod writes a file. Its VM is then killed with SIGKILL: the pod is replaced on the other
 * VM, the disk follows it (a dead VM holds nothing), and the new pod serves the very file the first
 * one wrote. Two VMs in all (a third may start to replace the killed one; the cluster is deleted
 * before it matters).
 */
let p: LocalVmPlatform;

beforeAll(async () => {
  // Two port slots: the VM replacing the killed one cannot start while the killed one's files remain.
  p = await startLocalVmPlatform({ slots: 2 });
}, 120_000);
afterAll(async () => {
  await p?.close();
});

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A web server whose page is a file on the claim, written once by the first pod that mounts it. */
function writerDeployment(image: string) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "keeper" },
    spec: {
      replicas: 1,
      strategy: { type: "Recreate" },
      selector: { matchLabels: { app: "keeper" } },
      template: {
        metadata: { labels: { app: "keeper" } },
        spec: {
          containers: [
            {
              name: "web",
              image,
              command: [
                "/bin/sh",
                "-c",
                // Written once and synced (a VM killed is a power cut: unsynced writes are lost, as on any disk).
                '[ -f /data/index.html ] || { echo "written by $(hostname) at $(date +%s)" > /data/index.html; sync; }; ' +
                  "httpd -f -p 8080 -h /data & trap 'exit 0' TERM; wait $!",
              ],
              ports: [{ containerPort: 8080 }],
              resources: { requests: { cpu: "100m", memory: "32Mi" } },
              volumeMounts: [{ name: "data", mountPath: "/data" }],
            },
          ],
          volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }],
        },
      },
    },
  };
}

describe("a PersistentVolumeClaim on local-vm nodes", () => {
  it("keeps its data when its pod's VM is killed and the pod comes back on the other VM", async () => {
    const { api } = p;
    const { token } = await api.tenant("pvc");
    const call = (method: string, path: string, body?: unknown) => api.call(method, path, { token, body });
    const clusterId = (await call("POST", "/v1/clusters", { name: "c" })).body.id as string;
    const base = `/v1/clusters/${clusterId}`;
    await waitFor("cluster active", async () => (await call("GET", base)).body.status === "active");
    const pool = await call("POST", `${base}/node-pools`, {
      name: "vms",
      provider: "local-vm",
      instanceType: "small",
      minSize: 0,
      maxSize: 2,
      desiredSize: 2,
    });
    expect(pool.status, pool.text).toBe(202);
    const claim = await call("PUT", `${base}/persistentvolumeclaims/default/data`, {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "data" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "256Mi" } } },
    });
    expect(claim.status, claim.text).toBe(200);
    const claimId = claim.body.metadata.uid as string;
    await waitFor(
      "both VMs' nodes ready",
      async () =>
        (await call("GET", `${base}/nodes`)).body.items.filter(
          (n: { status: string }) => n.status === "ready",
        ).length === 2,
      240_000,
    );
    const bound = await call("GET", `${base}/persistentvolumeclaims/default/data`);
    expect(bound.body.status).toEqual({
      phase: "Bound",
      accessModes: ["ReadWriteOnce"],
      capacity: { storage: "256Mi" },
    });
    expect(await readdir(join(p.dir, "disks", clusterId))).toEqual([`${claimId}.qcow2`]);

    const pods = async (): Promise<PodView[]> =>
      (await call("GET", `${base}/pods?namespace=default`)).body.items;
    const serving = async () => {
      const running = (await pods()).filter((x) => x.phase === "Running");
      const pod = running[0];
      if (running.length !== 1 || !pod) return null;
      const page = await answerOf(pod.hostPorts[0] ?? 0);
      return page?.startsWith("written by") ? { pod, page } : null;
    };
    const applied = Date.now();
    const put = await call(
      "PUT",
      `${base}/deployments/default/keeper`,
      writerDeployment(`${p.reg.host}/library/demo-web:latest`),
    );
    expect(put.status, put.text).toBeLessThan(300);
    const first = await waitFor("the first pod serving the file it wrote on the claim", serving, 240_000);
    const attachedAt = await attachedNode(p, claimId);
    expect(attachedAt).toBe(first.pod.nodeId);
    console.log(
      `local-vm pvc: deployment applied → the pod serving its claim's file ${seconds(Date.now() - applied)}`,
    );
    console.log(`local-vm pvc: first pod ${await attachMountFigures(call, base, first.pod.name)}`);

    // The pod's VM killed behind the platform's back: the pod comes back on the other VM, with the data.
    const machines = (await systemRows(
      api.deps.db,
      sql`select instance_id, node_id from machines where status <> 'terminated'`,
    )) as { instance_id: string; node_id: string }[];
    const victim = machines.find((m) => m.node_id === first.pod.nodeId);
    if (!victim) throw new Error("no machine runs the pod");
    const killed = Date.now();
    process.kill(await p.qemuPid(victim.instance_id), "SIGKILL");
    const moved = await waitFor(
      "the pod serving the same file from the other VM",
      async () => {
        const s = await serving();
        return s && s.pod.nodeId !== first.pod.nodeId ? s : null;
      },
      300_000,
    );
    const movedMs = Date.now() - killed;
    expect(moved.page).toBe(first.page);
    expect(await attachedNode(p, claimId)).toBe(moved.pod.nodeId);
    console.log(
      `local-vm pvc: VM killed → the pod running on the other VM with its data ${seconds(movedMs)}; ${await attachMountFigures(call, base, moved.pod.name)}`,
    );
    const events = (await call("GET", `${base}/events?namespace=default`)).body.items as {
      reason: string;
      message: string;
    }[];
    expect(events.map((e) => e.reason)).toEqual(
      expect.arrayContaining([
        "ProvisioningSucceeded",
        "SuccessfulAttachVolume",
        "SuccessfulMountVolume",
        "VolumeDetachedNodeLost",
      ]),
    );

    // Deleted while its pod mounts it: kept (pvc-protection); the Deployment gone, the claim and its disk go.
    const del = await call("DELETE", `${base}/persistentvolumeclaims/default/data`);
    expect(del.status).toBe(200);
    expect((await call("GET", `${base}/persistentvolumeclaims/default/data`)).status).toBe(200);
    expect((await call("DELETE", `${base}/deployments/default/keeper`)).status).toBeLessThan(300);
    const released = Date.now();
    await waitFor(
      "the claim and its disk deleted",
      async () =>
        (await call("GET", `${base}/persistentvolumeclaims/default/data`)).status === 404 &&
        (await readdir(join(p.dir, "disks", clusterId))).length === 0,
      180_000,
    );
    console.log(
      `local-vm pvc: the pod gone → its disk unplugged and deleted ${seconds(Date.now() - released)}`,
    );

    expect((await call("DELETE", base)).status).toBe(202);
    await waitFor("the cluster deleted", async () => p.qemuPids().length === 0, 180_000);
    await waitFor(
      "no disk left",
      async () => !(await readdir(join(p.dir, "disks")).catch(() => [] as string[])).includes(clusterId),
      60_000,
    );
  }, 900_000);
});

async function attachedNode(p: LocalVmPlatform, claimId: string): Promise<string | null> {
  const [row] = (await systemRows(
    p.api.deps.db,
    sql`select node_id from persistent_volumes where claim_id = ${claimId} and attached_at is not null`,
  )) as { node_id: string }[];
  return row?.node_id ?? null;
}

/** From the pod's placement to its attach, and to its containers' start (the disk mounted). */
async function attachMountFigures(
  call: (m: string, path: string) => Promise<{ body: { items?: unknown[] } & Record<string, unknown> }>,
  base: string,
  pod: string,
): Promise<string> {
  const events = ((await call("GET", `${base}/events?namespace=default`)).body.items ?? []) as {
    reason: string;
    message: string;
    involvedObject: { name: string };
    firstTimestamp: string;
  }[];
  const at = (reason: string) =>
    Date.parse(
      events.find((e) => e.reason === reason && e.involvedObject.name.endsWith(pod))?.firstTimestamp ?? "",
    );
  const got = await call("GET", `${base}/pods/default/${pod}`);
  const started = Date.parse(
    String((got.body.status as { startTime?: string } | undefined)?.startTime ?? ""),
  );
  const scheduled = at("Scheduled");
  const attached = at("SuccessfulAttachVolume") - scheduled;
  const mounted = at("SuccessfulMountVolume") - scheduled;
  return `scheduled → disk attached ${seconds(attached)}, → mounted in the guest ${seconds(mounted)}, → containers started ${seconds(started - scheduled)}`;
}
