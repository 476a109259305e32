import type { ContainerInfo } from "./types";

/**
 * What `list` learnt of each container by inspecting it, kept while the engine's list shows it in
 * the same state: a list inspects only the containers that are new or changed state (created →
 * running → exited), not every container every time. Inspecting is most of a list's cost to the
 * engine (Podman locks each container), and a node's pods look at their containers after each
 * step. An entry older than `maxAgeMs` is inspected again (something outside Berth restarted the
 * container in place), and one no list has shown for that long is dropped.
 */
export class InspectCache {
  private readonly entries = new Map<
    string,
    { state: string; info: ContainerInfo; at: number; seen: number }
  >();

  constructor(
    private readonly maxAgeMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The container as last inspected, if the list still shows it in `state`; a copy the caller may change. */
  get(id: string, state: string): ContainerInfo | null {
    const e = this.entries.get(id);
    const now = this.now();
    if (!e || e.state !== state || now - e.at > this.maxAgeMs) return null;
    e.seen = now;
    return copyOf(e.info);
  }

  /** Remembers an inspection made while the list showed `state`. */
  set(id: string, state: string, info: ContainerInfo): void {
    const now = this.now();
    this.entries.set(id, { state, info: copyOf(info), at: now, seen: now });
  }

  /** Drops what no list has shown for `maxAgeMs` (containers removed by others). */
  prune(): void {
    const cutoff = this.now() - this.maxAgeMs;
    for (const [id, e] of this.entries) if (e.seen < cutoff) this.entries.delete(id);
  }

  get size(): number {
    return this.entries.size;
  }
}

const copyOf = (c: ContainerInfo): ContainerInfo => ({
  ...c,
  labels: { ...c.labels },
  ports: c.ports.map((p) => ({ ...p })),
});
