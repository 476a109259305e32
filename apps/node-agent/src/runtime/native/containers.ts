/**
 * The native runtime's containers on disk, one directory each under `<root>/containers/<id>/`:
 * `record.json` (the spec and what create decided), the shim's `config`, `log`, `pid` and `exit`
 * files, and the overlay's `upper`/`work`/`merged`. Names are claimed with O_EXCL files under
 * `<root>/names/`. A container's state is read from these files and /proc, never kept in memory,
 * so a restarted agent (or a second runtime object) sees what the first one started.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ContainerInfo, ContainerSpec, ContainerState } from "../types";
import type { ImageRuntimeConfig } from "./image-store";

export interface ContainerRecord {
  id: string;
  name: string;
  spec: ContainerSpec;
  imageId: string;
  rootfs: string;
  imageConfig: ImageRuntimeConfig;
  createdAt: string;
  /** Start of the current or last run. */
  startedAt: string | null;
  /** The network it has an address on (not for a sandboxed container), and that address. */
  network: string | null;
  ip: string | null;
}

export interface RunState {
  state: ContainerState;
  exitCode: number | null;
  finishedAt: string | null;
  oomKilled: boolean;
  /** Host pid of the container's first process while it runs. */
  pid: number | null;
}

export class ContainerStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, "containers", id);
  }

  /** Claims the name and writes the record; false when the name is taken. */
  async create(record: Omit<ContainerRecord, "id">): Promise<ContainerRecord | null> {
    const id = randomBytes(32).toString("hex");
    await mkdir(join(this.root, "names"), { recursive: true });
    try {
      await writeFile(this.namePath(record.name), id, { flag: "wx" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return null;
      throw err;
    }
    const full = { ...record, id };
    await mkdir(this.dir(id), { recursive: true, mode: 0o711 });
    await this.save(full);
    return full;
  }

  private namePath(name: string): string {
    return join(this.root, "names", encodeURIComponent(name));
  }

  async save(record: ContainerRecord): Promise<void> {
    const path = join(this.dir(record.id), "record.json");
    await writeFile(`${path}.tmp`, JSON.stringify(record));
    await rename(`${path}.tmp`, path);
  }

  /** By id, unique id prefix or name; null when missing. */
  async find(ref: string): Promise<ContainerRecord | null> {
    if (/^[0-9a-f]{64}$/.test(ref)) return this.load(ref);
    const byName = await readFile(this.namePath(ref), "utf8").catch(() => null);
    if (byName) return this.load(byName.trim());
    if (/^[0-9a-f]{6,63}$/.test(ref)) {
      const matches = (await this.ids()).filter((id) => id.startsWith(ref));
      if (matches.length === 1 && matches[0]) return this.load(matches[0]);
    }
    return null;
  }

  private async load(id: string): Promise<ContainerRecord | null> {
    const raw = await readFile(join(this.dir(id), "record.json"), "utf8").catch(() => null);
    return raw === null ? null : (JSON.parse(raw) as ContainerRecord);
  }

  async ids(): Promise<string[]> {
    return (await readdir(join(this.root, "containers")).catch(() => [] as string[])).filter((n) =>
      /^[0-9a-f]{64}$/.test(n),
    );
  }

  async all(): Promise<ContainerRecord[]> {
    const records = await Promise.all((await this.ids()).map((id) => this.load(id)));
    return records.filter((r): r is ContainerRecord => r !== null);
  }

  async delete(record: ContainerRecord): Promise<void> {
    await rm(this.dir(record.id), { recursive: true, force: true });
    const owner = await readFile(this.namePath(record.name), "utf8").catch(() => null);
    if (owner?.trim() === record.id) await rm(this.namePath(record.name), { force: true });
  }

  /** What the shim's files and /proc say about the current run. */
  runState(record: ContainerRecord): RunState {
    const dir = this.dir(record.id);
    if (!record.startedAt)
      return { state: "created", exitCode: null, finishedAt: null, oomKilled: false, pid: null };
    const exited = readExit(dir);
    if (exited) return exited;
    const pids = readText(join(dir, "pid"));
    const [pid, shim] = (pids ?? "").trim().split(" ").map(Number);
    if (pid && shim && isShim(shim))
      return { state: "running", exitCode: null, finishedAt: null, oomKilled: false, pid };
    // The shim may have written the exit file between the two reads.
    return (
      readExit(dir) ?? {
        state: "exited",
        exitCode: 255,
        finishedAt: record.startedAt,
        oomKilled: false,
        pid: null,
      }
    );
  }

  info(record: ContainerRecord, run: RunState, ipAddress: string | null): ContainerInfo {
    const running = run.state === "running";
    return {
      id: record.id,
      name: record.name,
      image: record.spec.image,
      labels: { ...(record.imageConfig.Labels ?? {}), ...record.spec.labels },
      state: run.state,
      exitCode: run.exitCode,
      startedAt: record.startedAt,
      finishedAt: run.finishedAt,
      restartCount: 0,
      ports: record.spec.sandboxId ? [] : record.spec.ports,
      oomKilled: run.oomKilled,
      ipAddress: running ? ipAddress : null,
      sandboxId: record.spec.sandboxId ?? null,
      imageId: record.imageId,
    };
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function readExit(dir: string): RunState | null {
  const text = readText(join(dir, "exit"));
  if (text === null) return null;
  const [code = "255", oom = "0", at = ""] = text.trim().split(" ");
  return {
    state: "exited",
    exitCode: Number(code),
    finishedAt: at || null,
    oomKilled: oom === "1",
    pid: null,
  };
}

function isShim(pid: number): boolean {
  const cmdline = readText(`/proc/${pid}/cmdline`);
  if (!cmdline?.includes("berth-shim")) return false;
  return !/^\S+\s+\S+\s+Z/.test(readText(`/proc/${pid}/stat`) ?? "");
}
