/**
 * The node's own mounts for pod volumes: tmpfs for secrets and memory-backed emptyDirs, bind
 * mounts that pin an emptyDir's subPath. Made with the `mount`/`umount` programs (argv, never a
 * shell); which paths are mounts is read from /proc/self/mountinfo. Needs root.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";

function run(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { timeout: 30_000 }, (error, _stdout, stderr) =>
      error ? reject(new Error(`${file} ${args.join(" ")}: ${stderr.trim() || error.message}`)) : resolve(),
    ),
  );
}

/** Mount points at or under `dir`, deepest first (as they must be unmounted). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  const points = info
    .split("\n")
    .map((line) => unescapeOctal(line.split(" ")[4] ?? ""))
    .filter((p) => p === dir || p.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await mountsUnder(path)).includes(path);
}

/** A tmpfs at `dir` (kept in memory, never written to the node's disk), or its size changed. */
export async function mountTmpfs(dir: string, sizeBytes: number, mode: number): Promise<void> {
  const size = `size=${Math.max(1, Math.ceil(sizeBytes / 1024))}k`;
  if (await isMountPoint(dir)) {
    await run("mount", ["-o", `remount,${size}`, dir]);
    return;
  }
  await run("mount", ["-t", "tmpfs", "-o", `${size},mode=${mode.toString(8)},nosuid,nodev`, "tmpfs", dir]);
}

/** Binds `source` (any path, also /proc/<pid>/fd/<n>) at `target`. */
export async function bindMount(source: string, target: string): Promise<void> {
  await run("mount", ["--bind", source, target]);
}

export async function unmount(path: string): Promise<void> {
  await run("umount", [path]);
}
