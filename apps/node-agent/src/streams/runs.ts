import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { ContainerRuntime } from "../runtime";

/** Containers whose run boundaries are remembered, at most (the oldest are forgotten first). */
const MAX_CONTAINERS = 2_000;

/**
 * When each container of this node was restarted in place, so that its log (the engine keeps
 * one log for every run of a container) can be read per run: the current instance is what was
 * written after the last restart, `previous` what was written between the two before. A boundary
 * is this host's clock just before the restart — the engine stamps log lines with the same
 * clock, and the last line of an ended run is always written before the agent restarts it (the
 * engine's own StartedAt/FinishedAt are not: Podman stamps lines a few milliseconds after them).
 * Kept in a file of the agent's state directory, so an agent restart keeps `previous` working.
 */
export class RunHistory {
  private readonly runs = new Map<string, string[]>();
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string | null) {}

  async load(): Promise<void> {
    if (!this.file) return;
    try {
      const parsed: unknown = JSON.parse(await readFile(this.file, "utf8"));
      if (!parsed || typeof parsed !== "object") return;
      for (const [id, list] of Object.entries(parsed))
        if (Array.isArray(list) && list.every((x) => typeof x === "string" && !Number.isNaN(Date.parse(x))))
          this.runs.set(id, list.slice(-2));
    } catch {
      // none yet, or unreadable: boundaries are learnt again from the next restarts
    }
  }

  /** Boundaries between the runs of a container, oldest first (the last two). */
  boundaries(containerId: string): readonly string[] {
    return this.runs.get(containerId) ?? [];
  }

  record(containerId: string, at: string): Promise<void> {
    const list = [...(this.runs.get(containerId) ?? []), at].slice(-2);
    this.runs.delete(containerId);
    this.runs.set(containerId, list);
    while (this.runs.size > MAX_CONTAINERS) {
      const oldest = this.runs.keys().next().value;
      if (oldest === undefined) break;
      this.runs.delete(oldest);
    }
    this.writing = this.writing.then(() => this.save()).catch(() => {});
    return this.writing;
  }

  private async save(): Promise<void> {
    if (!this.file) return;
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries(this.runs)), { mode: 0o600 });
    await rename(tmp, this.file);
  }
}

/**
 * The runtime as the pod supervisor uses it, noting in `history` every restart of a container that
 * ran before (the supervisor restarts crashed containers in place with `start`).
 */
export function recordingRestarts(runtime: ContainerRuntime, history: RunHistory): ContainerRuntime {
  return {
    ...runtime,
    name: runtime.name,
    async start(id) {
      const before = await runtime.inspect(id);
      if (before && before.startedAt !== null && (before.state === "exited" || before.state === "dead"))
        await history.record(before.id, new Date().toISOString());
      return runtime.start(id);
    },
  };
}
