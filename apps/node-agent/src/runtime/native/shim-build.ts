/**
 * Builds `berth-shim` from ./shim (C, static, so a guest needs no library for it) with the host's
 * gcc (Debian `gcc` and `libc6-dev`), unless the binary is newer than its sources.
 */
import { readdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { command } from "./command";

export const SHIM_SOURCE_DIR = join(dirname(fileURLToPath(import.meta.url)), "shim");

export async function buildShim(out: string): Promise<string> {
  const sources = (await readdir(SHIM_SOURCE_DIR)).filter((f) => f.endsWith(".c") || f.endsWith(".h"));
  const built = await stat(out).catch(() => null);
  if (built) {
    const times = await Promise.all(sources.map(async (f) => (await stat(join(SHIM_SOURCE_DIR, f))).mtimeMs));
    if (times.every((t) => t <= built.mtimeMs)) return out;
  }
  const tmp = `${out}.tmp-${process.pid}`;
  const cfiles = sources.filter((f) => f.endsWith(".c")).map((f) => join(SHIM_SOURCE_DIR, f));
  await command("gcc", ["-O2", "-Wall", "-static", "-s", "-o", tmp, ...cfiles], undefined, 120_000);
  await command("mv", ["-f", tmp, out]);
  return out;
}
