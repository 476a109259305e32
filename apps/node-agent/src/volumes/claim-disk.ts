/**
 * A PersistentVolumeClaim's disk on a node: the provider attaches it to the machine (local-vm: a
 * virtio disk hot-plugged with the claim's serial), and the agent finds it by that serial under
 * /sys/block, gives it an ext4 file system the first time (never over one that exists), and mounts
 * it in the pod's volume directory; the pod's containers get bind mounts of it. The pod's teardown
 * unmounts it (every mount under the pod's directory), before the node reports the pod gone, which
 * is what lets the control plane detach the disk.
 */
import { execFile } from "node:child_process";
import { open, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { isMountPoint } from "./mounts";

function run(file: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { timeout: timeoutMs }, (error, _stdout, stderr) =>
      error ? reject(new Error(`${file} ${args.join(" ")}: ${stderr.trim() || error.message}`)) : resolve(),
    ),
  );
}

/** The block device (`/dev/vdd`) whose serial is `serial`, or null while none is attached. */
export async function diskBySerial(serial: string, sysBlock = "/sys/block"): Promise<string | null> {
  for (const name of await readdir(sysBlock).catch(() => [] as string[])) {
    if (!/^[a-z0-9]+$/.test(name)) continue;
    const found = (await readFile(join(sysBlock, name, "serial"), "utf8").catch(() => "")).trim();
    if (found === serial) return `/dev/${name}`;
  }
  return null;
}

/**
 * The disk of that serial, waiting up to `waitMs` for it: the control plane attaches it as the pod
 * is placed, so it usually appears within a second of the assignment; after that the pod's volume
 * setup is retried (FailedMount) rather than holding a worker.
 */
export async function awaitDisk(
  serial: string,
  waitMs: number,
  sysBlock = "/sys/block",
): Promise<string | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const found = await diskBySerial(serial, sysBlock);
    if (found || Date.now() >= deadline) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether the device already holds an ext2/3/4 file system (the superblock's magic, 0xEF53 at byte 1080). */
export async function hasExtFilesystem(device: string): Promise<boolean> {
  const handle = await open(device, "r");
  try {
    const buf = Buffer.alloc(2);
    await handle.read(buf, 0, 2, 1080);
    return buf.readUInt16LE(0) === 0xef53;
  } finally {
    await handle.close();
  }
}

/** Formats the disk the first time, and mounts it at `dir` (nothing when it is mounted there). */
export async function mountClaimDisk(
  device: string,
  dir: string,
): Promise<{ mounted: boolean; formatted: boolean }> {
  if (await isMountPoint(dir)) return { mounted: false, formatted: false };
  const formatted = !(await hasExtFilesystem(device));
  if (formatted) await run("mke2fs", ["-q", "-t", "ext4", "-E", "lazy_itable_init=1", device], 120_000);
  await run("mount", ["-t", "ext4", "-o", "nosuid,nodev", device, dir], 60_000);
  return { mounted: true, formatted };
}
