/**
 * Writes a ConfigMap's or Secret's files into a volume directory the way kubelet's AtomicWriter
 * does, so that a container never sees half an update:
 *
 *   <dir>/..2026_12_03_15_52_05.123456789/<files>   this version
 *   <dir>/..data -> ..2026_12_03_15_52_05.123456789  swapped by rename(2), atomically
 *   <dir>/<key> -> ..data/<key>                       what the container opens
 *
 * An update writes a new timestamped directory, renames a new `..data` link over the old one, adjusts
 * the top-level links and removes the old version. Containers keep running; a file opened through
 * `<key>` after the swap is the new one. (A `subPath` mount pins the file it was made from and gets
 * no updates, as in Kubernetes.)
 */
import { randomInt } from "node:crypto";
import {
  chmod,
  chown,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { dirname, join } from "node:path";

export interface VolumeFileData {
  /** Relative path inside the volume. */
  path: string;
  data: Buffer;
  /** Permission bits (e.g. 0o644). */
  mode: number;
}

const DATA = "..data";

/** A relative path of plain components: no absolute path, no `..`, nothing starting with `..`. */
export function isSafeVolumePath(p: string): boolean {
  if (p === "" || p.startsWith("/") || p.startsWith("..") || p.length > 4096) return false;
  return p.split("/").every((c) => c !== "" && c !== "." && c !== ".." && !c.includes("\u0000"));
}

/** Writes `files` as the volume's content; false when it already was exactly that. */
export async function writeAtomically(
  dir: string,
  files: readonly VolumeFileData[],
  fsGroup: number | undefined,
): Promise<boolean> {
  for (const f of files)
    if (!isSafeVolumePath(f.path)) throw new Error(`invalid file path in volume: ${JSON.stringify(f.path)}`);
  const modes = files.map((f) => effectiveMode(f.mode, fsGroup));
  const current = await readlink(join(dir, DATA)).catch(() => null);
  if (current !== null && (await sameContent(join(dir, current), files, modes))) return false;

  const version = `..${timestamp()}.${String(randomInt(1e9)).padStart(9, "0")}`;
  const versionDir = join(dir, version);
  await mkdir(versionDir, { mode: 0o755 });
  await own(versionDir, 0o755, fsGroup, true);
  for (const [i, f] of files.entries()) {
    const target = join(versionDir, f.path);
    await mkdirs(versionDir, dirname(f.path), fsGroup);
    await writeFile(target, f.data, { mode: 0o600 });
    await own(target, modes[i] ?? 0o644, fsGroup, false);
  }
  // The swap: a new link renamed over the old one.
  const tmp = join(dir, `${DATA}_tmp`);
  await rm(tmp, { force: true });
  await symlink(version, tmp);
  await rename(tmp, join(dir, DATA));

  const top = new Set(files.map((f) => f.path.split("/")[0] as string));
  for (const name of top) {
    const link = join(dir, name);
    const existing = await lstat(link).catch(() => null);
    if (existing?.isSymbolicLink()) continue;
    if (existing) await rm(link, { recursive: true, force: true });
    await symlink(join(DATA, name), link);
  }
  for (const entry of await readdir(dir)) {
    if (entry.startsWith("..") || top.has(entry)) continue;
    const link = join(dir, entry);
    if ((await lstat(link)).isSymbolicLink()) await rm(link, { force: true });
  }
  if (current !== null && current !== version && current.startsWith(".."))
    await rm(join(dir, current), { recursive: true, force: true });
  return true;
}

/** kubelet's ownership rule for read-only volumes with an fsGroup: group-readable, the group's. */
function effectiveMode(mode: number, fsGroup: number | undefined): number {
  return fsGroup === undefined ? mode & 0o777 : (mode & 0o777) | 0o440;
}

async function own(path: string, mode: number, fsGroup: number | undefined, isDir: boolean): Promise<void> {
  if (fsGroup !== undefined) await chown(path, 0, fsGroup);
  await chmod(path, isDir && fsGroup !== undefined ? mode | 0o2550 : mode);
}

async function mkdirs(root: string, rel: string, fsGroup: number | undefined): Promise<void> {
  if (rel === "." || rel === "") return;
  let at = root;
  for (const part of rel.split("/")) {
    at = join(at, part);
    if (await stat(at).catch(() => null)) continue;
    await mkdir(at, { mode: 0o755 });
    await own(at, 0o755, fsGroup, true);
  }
}

async function sameContent(
  versionDir: string,
  files: readonly VolumeFileData[],
  modes: number[],
): Promise<boolean> {
  const listed = await listFiles(versionDir).catch(() => null);
  if (!listed || listed.length !== files.length) return false;
  for (const [i, f] of files.entries()) {
    const path = join(versionDir, f.path);
    const s = await stat(path).catch(() => null);
    if (!s || (s.mode & 0o777) !== modes[i]) return false;
    if (!(await readFile(path)).equals(f.data)) return false;
  }
  return true;
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out;
}

function timestamp(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}`;
}
