import { CONTAINER_LABELS } from "@berth/protocol";
import type { ContainerInfo, ContainerRuntime } from "../runtime";
import type { PodRecord } from "./context";

/** The runtime calls that change what a list of containers shows. */
const CHANGES = new Set<string | symbol>(["create", "start", "stop", "kill", "remove"]);

/** A look at a pod this young, taken after the agent last changed the pod, stands in for a new one. */
export const FRESH_LOOK_MS = 1_000;

/** The instances of a pod and their states, to tell when the engine changed something. */
export const fingerprintOf = (cs: readonly ContainerInfo[]) =>
  cs
    .map((c) => `${c.id}:${c.state}`)
    .sort()
    .join(",");

/** Where a node-wide look began, to tell which records know something newer than it saw. */
export interface LookMark {
  readonly seq: number;
  readonly at: number;
}

/**
 * When a pod's step must ask the engine about the pod's containers. A list costs the engine ~20 ms
 * of CPU plus ~1 ms per container it shows, and a burst of pods on one node was mostly such looks:
 * each step of a pod looked before and after, and a started pod takes two steps. Now a step looks
 * first only when what the record holds may be stale (older than FRESH_LOOK_MS, or the agent has
 * changed the pod's containers since, or is changing them), and after only when it changed
 * something itself. A change by someone else (a container exits) shows in a later look, as it
 * would had it happened just after this one; the node-wide look every few seconds is the net.
 *
 * Order is one sequence: every look, and the start and the end of every change, takes the next
 * number; a look shows every change that ended before its number and is taken only over an older one.
 */
export class PodLooks {
  private seq = 0;

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly nodeId: string,
    private readonly now: () => number,
  ) {}

  /** Lists the pod's containers into its record (unless a newer look got there first). */
  async look(rec: PodRecord): Promise<void> {
    const mark = this.mark();
    const seen = await this.runtime.list({
      [CONTAINER_LABELS.node]: this.nodeId,
      [CONTAINER_LABELS.pod]: rec.podId,
    });
    this.take(rec, mark, seen);
  }

  /** Whether the record's containers may stand in for a look now. */
  fresh(rec: PodRecord): boolean {
    return rec.working === 0 && rec.lookedSeq > rec.changedSeq && this.now() - rec.lookedAt < FRESH_LOOK_MS;
  }

  /** A pod this agent has not made containers for (and looked at every container since it started): it has none. */
  known(rec: PodRecord): void {
    rec.lookedSeq = ++this.seq;
    rec.lookedAt = this.now();
  }

  /** The start of a look. */
  mark(): LookMark {
    return { seq: ++this.seq, at: this.now() };
  }

  /**
   * What a look begun at `mark` saw of a pod, into its record unless the record knows newer; whether
   * taken. A node-wide look (`shared`) is not taken either where it may miss what the agent has done
   * to the pod since it began: the step doing it looks again when done.
   */
  take(rec: PodRecord, mark: LookMark, seen: ContainerInfo[], shared = false): boolean {
    if (rec.lookedSeq > mark.seq) return false;
    if (shared && (rec.working > 0 || rec.changedSeq > mark.seq)) return false;
    rec.containers = seen;
    rec.lookedSeq = mark.seq;
    rec.lookedAt = mark.at;
    return true;
  }

  /** The runtime for a step of the pod: each change it makes marks the pod's earlier looks stale. */
  changing(rec: PodRecord): ContainerRuntime {
    const working = (delta: 1 | -1) => this.working(rec, delta);
    return new Proxy(this.runtime, {
      get(target, key, receiver) {
        const value: unknown = Reflect.get(target, key, receiver);
        if (!CHANGES.has(key) || typeof value !== "function") return value;
        return async (...args: unknown[]) => {
          working(1);
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } finally {
            working(-1);
          }
        };
      },
    });
  }

  /**
   * Work that may change the pod's containers begins (`+1`) or has ended (`-1`): a runtime call of
   * a step, or work detached from the steps. No look stands in while any runs, nor one begun before
   * the last of them ended.
   */
  working(rec: PodRecord, delta: 1 | -1): void {
    rec.working += delta;
    rec.changedSeq = ++this.seq;
  }
}
