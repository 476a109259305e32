import { mkdtemp, rm, utimes } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guestApiUrl, vmSize } from "../src/providers/local-vm";
import { qemuArgs } from "../src/providers/local-vm/qemu";
import { claimSlot, portsOf, releaseSlot } from "../src/providers/local-vm/slots";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-slots-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("a local VM's plan", () => {
  it("sizes a VM from its instance type, within the host's cores and the memory cap", () => {
    expect(vmSize("small", 8192)).toEqual({ vcpus: Math.min(2, cpus().length), memoryMiB: 4096 });
    expect(vmSize("large", 2048)).toEqual({ vcpus: Math.min(8, cpus().length), memoryMiB: 2048 });
  });

  it("shows guests the host's loopback as 10.0.2.2, and leaves other addresses alone", () => {
    expect(guestApiUrl("http://127.0.0.1:8080")).toBe("http://10.0.2.2:8080");
    expect(guestApiUrl("http://localhost:9000/")).toBe("http://10.0.2.2:9000");
    expect(guestApiUrl("https://api.example.com")).toBe("https://api.example.com");
  });

  it("forwards each port of the VM's range from the host's loopback to the same port in the guest", () => {
    const args = qemuArgs({
      qemu: "qemu-system-x86_64",
      accel: "tcg",
      name: "berth-vm-m_1",
      image: { kernel: "/i/vmlinuz", initrd: "/i/initrd.gz", rootDisk: "/i/root.ext4" },
      vcpus: 2,
      memoryMiB: 1024,
      configDisk: "/v/config.ext4",
      scratchDisk: "/v/scratch.ext4",
      pidFile: "/v/qemu.pid",
      consoleFile: "/v/console.log",
      qmpSocket: "/v/qmp.sock",
      ports: { min: 42000, max: 42001 },
    });
    expect(args).toContain(
      "user,id=n0,hostfwd=tcp:127.0.0.1:42000-:42000,hostfwd=tcp:127.0.0.1:42001-:42001",
    );
    expect(args).toContain("-daemonize");
    expect(args[args.indexOf("-serial") + 1]).toBe("file:/v/console.log");
    // Claims' disks are hot-plugged through QMP; the VM starts whether anyone is connected or not.
    expect(args[args.indexOf("-qmp") + 1]).toBe("unix:/v/qmp.sock,server=on,wait=off");
    // The guest's init expects the image disk first, then the config disk, then the scratch disk.
    const drives = args.filter((a) => a.startsWith("file="));
    expect(drives.map((d) => d.split(",")[0])).toEqual([
      "file=/i/root.ext4",
      "file=/v/config.ext4",
      "file=/v/scratch.ext4",
    ]);
  });

  it("gives each VM its own port slot, and frees a claim a dead launch left behind", async () => {
    const plan = { base: 43_000 + (process.pid % 50) * 4, size: 2, slots: 2 };
    const a = await claimSlot(dir, plan, new Set());
    const b = await claimSlot(dir, plan, new Set());
    expect([a, b]).toEqual([0, 1]);
    expect(portsOf(plan, 1)).toEqual({ min: plan.base + 2, max: plan.base + 3 });
    expect(await claimSlot(dir, plan, new Set([0, 1]))).toBeNull();
    // Slot 1's claim is old and no VM recorded it: a launch died between claim and record.
    await utimes(join(dir, ".slots", "1"), new Date(0), new Date(0));
    expect(await claimSlot(dir, plan, new Set([0]))).toBe(1);
    await releaseSlot(dir, 0);
    expect(await claimSlot(dir, plan, new Set([1]))).toBe(0);
  });
});
