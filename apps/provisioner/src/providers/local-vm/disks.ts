import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Single-quotes a value for the guest's shell (`. berth.env`). */
function q(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * The machine's config disk (cloud-init's NoCloud in spirit): a small read-only ext4 file system
 * holding `berth.env`, which the guest's init sources. Made without mounting (`mke2fs -d`).
 */
export async function writeConfigDisk(file: string, env: Record<string, string>): Promise<void> {
  const staging = await mkdtemp(`${file}.staging-`);
  try {
    const text = Object.entries(env)
      .map(([k, v]) => `${k}=${q(v)}\n`)
      .join("");
    await writeFile(join(staging, "berth.env"), text, { mode: 0o600 });
    await chmod(staging, 0o700);
    await rm(file, { force: true });
    await run("mke2fs", ["-q", "-t", "ext4", "-L", "berth-config", "-d", staging, file, "1M"]);
    await chmod(file, 0o600);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The machine's scratch disk: a sparse ext4 file (what the node writes: images, pods' data). */
export async function writeScratchDisk(file: string, sizeGiB: number): Promise<void> {
  await rm(file, { force: true });
  await run("mke2fs", [
    "-q",
    "-t",
    "ext4",
    "-L",
    "berth-scratch",
    "-E",
    "lazy_itable_init=1",
    file,
    `${sizeGiB}G`,
  ]);
  await chmod(file, 0o600);
}
