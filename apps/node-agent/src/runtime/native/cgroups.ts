/**
 * Each container's cgroup, under `berth-native/<id>` of cgroup v2 (when its memory controller is
 * there) or of each v1 hierarchy it needs (memory, cpu, cpuacct, pids): limits written before the
 * container starts, read back for stats and OOM kills, bound read-only into the container at
 * `/sys/fs/cgroup` (v2) or `/sys/fs/cgroup/<controller>` (v1).
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

const ROOT = "/sys/fs/cgroup";
const PARENT = "berth-native";
const V1 = ["memory", "cpu", "cpuacct", "pids"] as const;
const PERIOD_US = 100_000;

export interface Limits {
  memoryBytes?: number | undefined;
  nanoCpus?: number | undefined;
  pidsLimit: number;
}

export interface CgroupPaths {
  /** Directories to join (one per hierarchy). */
  dirs: string[];
  /** Host directory → where the container sees it. */
  binds: { source: string; target: string }[];
  /** The file whose `oom_kill` counter tells of OOM kills. */
  oomFile: string;
}

export class Cgroups {
  readonly v2: boolean;

  constructor(private readonly root = ROOT) {
    const controllers = existsSync(join(root, "cgroup.controllers"))
      ? readFileSync(join(root, "cgroup.controllers"), "utf8")
      : "";
    this.v2 = /\bmemory\b/.test(controllers);
  }

  /** Per v1 controller its hierarchy's directory; co-mounted ones (cpu,cpuacct) share one. */
  private v1Dir(controller: (typeof V1)[number], id: string): string {
    return join(realpathSync(join(this.root, controller)), PARENT, id);
  }

  paths(id: string): CgroupPaths {
    if (this.v2) {
      const dir = join(this.root, PARENT, id);
      return {
        dirs: [dir],
        binds: [{ source: dir, target: "/sys/fs/cgroup" }],
        oomFile: join(dir, "memory.events"),
      };
    }
    const dirs = [...new Set(V1.map((c) => this.v1Dir(c, id)))];
    const binds = V1.map((c) => ({ source: this.v1Dir(c, id), target: `/sys/fs/cgroup/${c}` }));
    return { dirs, binds, oomFile: join(this.v1Dir("memory", id), "memory.oom_control") };
  }

  /** Makes the container's cgroups (idempotent) and writes its limits. */
  async create(id: string, limits: Limits): Promise<CgroupPaths> {
    const paths = this.paths(id);
    if (this.v2) {
      const parent = join(this.root, PARENT);
      await mkdir(parent, { recursive: true });
      await enable(join(this.root, "cgroup.subtree_control"));
      await enable(join(parent, "cgroup.subtree_control"));
    }
    for (const dir of paths.dirs) await mkdir(dir, { recursive: true });
    const set = (controller: (typeof V1)[number], file: string, value: string) =>
      writeFile(join(this.v2 ? (paths.dirs[0] ?? "") : this.v1Dir(controller, id), file), value);
    const quota = limits.nanoCpus ? Math.max(1000, Math.round((limits.nanoCpus / 1e9) * PERIOD_US)) : null;
    if (this.v2) {
      await set("memory", "memory.max", limits.memoryBytes ? String(limits.memoryBytes) : "max");
      await set("memory", "memory.swap.max", "0").catch(() => {});
      await set("cpu", "cpu.max", `${quota ?? "max"} ${PERIOD_US}`);
      await set("pids", "pids.max", String(limits.pidsLimit));
    } else {
      await set("memory", "memory.limit_in_bytes", limits.memoryBytes ? String(limits.memoryBytes) : "-1");
      await set("memory", "memory.swappiness", "0").catch(() => {});
      await set("cpu", "cpu.cfs_period_us", String(PERIOD_US));
      await set("cpu", "cpu.cfs_quota_us", String(quota ?? -1));
      await set("pids", "pids.max", String(limits.pidsLimit));
    }
    return paths;
  }

  /** Cumulative CPU time (ns) and memory in use (bytes, without the page cache's inactive files). */
  async usage(id: string): Promise<{ cpuNanos: number; memoryBytes: number }> {
    const paths = this.paths(id);
    if (this.v2) {
      const dir = paths.dirs[0] ?? "";
      const cpu = await readFile(join(dir, "cpu.stat"), "utf8");
      const usec = Number(/usage_usec (\d+)/.exec(cpu)?.[1] ?? 0);
      const memory = Number((await readFile(join(dir, "memory.current"), "utf8")).trim());
      return { cpuNanos: usec * 1000, memoryBytes: memory };
    }
    const cpu = Number((await readFile(join(this.v1Dir("cpuacct", id), "cpuacct.usage"), "utf8")).trim());
    const memory = Number(
      (await readFile(join(this.v1Dir("memory", id), "memory.usage_in_bytes"), "utf8")).trim(),
    );
    return { cpuNanos: cpu, memoryBytes: memory };
  }

  /** Removes the cgroups once their processes are gone (tried for a moment while they leave). */
  async remove(id: string): Promise<void> {
    for (const dir of this.paths(id).dirs) {
      for (let attempt = 0; attempt < 20; attempt++) {
        const err = await rmdir(dir).then(
          () => null,
          (e: NodeJS.ErrnoException) => e,
        );
        if (!err || err.code === "ENOENT") break;
        if (err.code !== "EBUSY" || attempt === 19) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

async function enable(file: string): Promise<void> {
  const want = ["memory", "cpu", "pids"];
  const have = (await readFile(file, "utf8").catch(() => "")).split(/\s+/);
  const missing = want.filter((c) => !have.includes(c));
  if (missing.length > 0) await writeFile(file, missing.map((c) => `+${c}`).join(" "));
}
