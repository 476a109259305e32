import { open, stat } from "node:fs/promises";
import { join } from "node:path";

/**
 * Where the local-vm provider keeps a VM, shared by the provisioner (which runs it) and the control
 * API (which serves its console output): `<dir>/<instanceId>/` holds `meta.json`, `qemu.pid`,
 * `console.log` (the serial console) and the VM's disks.
 */
export const LOCAL_VM_FILES = {
  meta: "meta.json",
  pid: "qemu.pid",
  console: "console.log",
  /** QEMU's machine protocol socket (QMP): how disks are hot-plugged into the running VM. */
  qmp: "qmp.sock",
} as const;

/** A local-vm instance id: `vm-` and the machine id (a machine has at most one VM at a time). */
export function localVmInstanceId(machineId: string): string {
  return `vm-${machineId}`;
}

const INSTANCE_ID = /^vm-[a-z0-9_]+$/i;

/** The VM's directory, or null for a string that is no local-vm instance id (never a path outside `dir`). */
export function localVmDir(dir: string, instanceId: string): string | null {
  return INSTANCE_ID.test(instanceId) ? join(dir, instanceId) : null;
}

/** The last console bytes the limit allows (as EC2's GetConsoleOutput: the latest 64 KiB), or null without a VM. */
export async function readLocalVmConsole(
  dir: string,
  instanceId: string,
  maxBytes = 64 * 1024,
): Promise<{ output: string; bytes: number; truncated: boolean } | null> {
  const vm = localVmDir(dir, instanceId);
  if (!vm) return null;
  const file = join(vm, LOCAL_VM_FILES.console);
  const size = await stat(file).then(
    (s) => s.size,
    () => null,
  );
  if (size === null) return null;
  const length = Math.min(size, maxBytes);
  const buffer = Buffer.alloc(length);
  const handle = await open(file, "r");
  try {
    await handle.read(buffer, 0, length, size - length);
  } finally {
    await handle.close();
  }
  return { output: buffer.toString("utf8"), bytes: size, truncated: size > length };
}
