import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@berth/core";
import { diskSerialOf } from "@berth/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Qmp } from "../src/providers/local-vm/qmp";
import { createLocalVmDisks } from "../src/providers/local-vm/volumes";

/**
 * Claims' disks against real QEMU and qemu-img: two VMs started paused (-S, no guest: hot-plugging
 * needs none, unplugging does), each with the QMP socket the launcher gives every VM.
 */
let dir: string;
const pids: number[] = [];
const disks = () => createLocalVmDisks({ dir, qemuImg: "qemu-img", logger: createLogger("test", "silent") });
const ref = { clusterId: "cl_disks", claimId: "obj_01m91c44fyswvy2yvkqd2x0226" };
const serial = diskSerialOf(ref.claimId);

async function pausedVm(instanceId: string): Promise<void> {
  const vm = join(dir, instanceId);
  await mkdir(vm);
  execFileSync("qemu-system-x86_64", [
    ...["-name", `berth-${instanceId}`, "-accel", "tcg", "-display", "none", "-monitor", "none", "-S"],
    ...[
      "-qmp",
      `unix:${join(vm, "qmp.sock")},server=on,wait=off`,
      "-pidfile",
      join(vm, "qemu.pid"),
      "-daemonize",
    ],
  ]);
  pids.push(Number((await readFile(join(vm, "qemu.pid"), "utf8")).trim()));
}

async function devices(instanceId: string): Promise<{ id: string; serial: string }[]> {
  const q = await Qmp.connect(join(dir, instanceId, "qmp.sock"));
  try {
    // The peripherals are the container's `child<…>` properties (it lists its own `type` too).
    const list = (await q.execute("qom-list", { path: "/machine/peripheral" })) as {
      name: string;
      type: string;
    }[];
    const out: { id: string; serial: string }[] = [];
    for (const d of list.filter((x) => x.type.startsWith("child<"))) {
      const path = `/machine/peripheral/${d.name}`;
      out.push({ id: d.name, serial: (await q.execute("qom-get", { path, property: "serial" })) as string });
    }
    return out;
  } finally {
    q.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-disks-"));
  await pausedVm("vm-a");
  await pausedVm("vm-b");
});
afterAll(async () => {
  for (const pid of pids) process.kill(pid, "SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

describe("local-vm claims' disks", () => {
  it("makes one qcow2 file per claim, once, of the claim's size", async () => {
    const d = disks();
    await d.ensure(ref, 256 * 1024 ** 2);
    await d.ensure(ref, 256 * 1024 ** 2);
    const file = join(dir, "disks", ref.clusterId, `${ref.claimId}.qcow2`);
    const info = JSON.parse(execFileSync("qemu-img", ["info", "--output=json", file], { encoding: "utf8" }));
    expect(info).toMatchObject({ format: "qcow2", "virtual-size": 256 * 1024 ** 2 });
  });

  it("hot-plugs it into a running VM with the claim's serial, once however often asked", async () => {
    const d = disks();
    await d.attach("vm-a", ref);
    await d.attach("vm-a", ref);
    expect(await devices("vm-a")).toEqual([{ id: `pvc-${serial}`, serial }]);
  });

  it("cannot be opened by a second VM while the first holds it (QEMU's image lock keeps ReadWriteOnce)", async () => {
    await expect(disks().attach("vm-b", ref)).rejects.toThrow(/lock/i);
    expect(await devices("vm-b")).toEqual([]);
  });

  it("is detached from a VM that is gone by definition, and goes with its claim and its cluster", async () => {
    const d = disks();
    await d.detach("vm-gone", ref);
    await d.remove(ref);
    expect(existsSync(join(dir, "disks", ref.clusterId, `${ref.claimId}.qcow2`))).toBe(false);
    await d.ensure({ ...ref, claimId: "obj_other" }, 64 * 1024 ** 2);
    await d.removeCluster(ref.clusterId);
    expect(existsSync(join(dir, "disks", ref.clusterId))).toBe(false);
  });
});
