import type { Logger } from "@berth/core";
import { type Assignment, CONTAINER_LABELS, type PodReport } from "@berth/protocol";
import {
  crashLoop,
  createFailure,
  PodFailure,
  pullDelayMs,
  pullFailure,
  restartDelayMs,
  retryDelayMs,
  startFailure,
} from "./pod-failures";
import { containerSpecOf, type NodeIdentity, portsOf } from "./pod-spec";
import { type ContainerInfo, type ContainerRuntime, isRuntimeError } from "./runtime";
import { KeyedWorkQueue } from "./work-queue";

export { restartDelayMs } from "./pod-failures";

export interface SupervisorOptions {
  publishAddress: string;
  stopTimeoutSeconds: number;
  /** Pods worked on at once (each pod's own steps always run one at a time). */
  concurrency: number;
  logger: Logger;
  /** Called when what `report()` says has changed. */
  onChange: () => void;
  now?: () => number;
}

/** What the agent knows of one pod beyond its assignment. */
interface PodRecord {
  containers: ContainerInfo[];
  restarts: number;
  nextRestartAt: number;
  /** Why it is not running, in the tenant's vocabulary; null when it is fine or on its way. */
  failure: PodFailure | null;
  /** Failed creates and starts in a row, and failed pulls in a row (for back-off). */
  attempts: number;
  pullFailures: number;
  /** No work before this instant (back-off); a timer brings the pod back then. */
  retryAt: number;
  timer: NodeJS.Timeout | null;
  /** Set when the pod was evicted (ephemeral storage): its containers go and stay gone. */
  evicted: string | null;
}

const stateOf = (cs: ContainerInfo[]) => (cs.every((c) => c.state === "running") ? "running" : "exited");

/**
 * Keeps this node's containers as the control plane assigned them: creates what is missing,
 * restarts what exited (with back-off), removes what should stop and what nobody assigned. Pods
 * are worked on concurrently (bounded), one step at a time each, and one pod's trouble never holds
 * up another's. It only ever touches containers labelled with its own node id.
 */
export class PodSupervisor {
  private readonly desired = new Map<string, Assignment>();
  private readonly records = new Map<string, PodRecord>();
  private readonly pulls = new Map<string, Promise<void>>();
  private readonly queue: KeyedWorkQueue;
  /** Whether a full list of assignments arrived: only then is a pod nobody assigned an orphan. */
  private authoritative = false;
  private leaving = false;
  private lastReport = "";

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly identity: NodeIdentity,
    private readonly opts: SupervisorOptions,
  ) {
    this.queue = new KeyedWorkQueue(
      opts.concurrency,
      (podId) => this.syncPod(podId),
      (podId, error) => opts.logger.error({ podId, err: error }, "pod work failed"),
    );
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** The complete list of what should run here; pods it no longer names are stopped. */
  setAssignments(list: readonly Assignment[]): void {
    const before = new Map(this.desired);
    this.desired.clear();
    for (const a of list) this.desired.set(a.podId, a);
    this.authoritative = true;
    for (const a of list) if (before.get(a.podId)?.action !== a.action) this.queue.enqueue(a.podId);
    for (const podId of before.keys()) if (!this.desired.has(podId)) this.queue.enqueue(podId);
    for (const podId of this.records.keys()) if (!this.desired.has(podId)) this.queue.enqueue(podId);
    this.changed();
  }

  assignment(podId: string): Assignment | undefined {
    return this.desired.get(podId);
  }

  /** How many pods should run here. */
  get running(): number {
    let n = 0;
    for (const a of this.desired.values()) if (a.action === "run") n++;
    return n;
  }

  /** Looks at every container of this node; pods that crashed, lack containers or are orphans get work. */
  async observe(): Promise<void> {
    const byPod = new Map<string, ContainerInfo[]>();
    for (const c of await this.runtime.list({ [CONTAINER_LABELS.node]: this.identity.nodeId })) {
      const podId = c.labels[CONTAINER_LABELS.pod];
      if (podId) byPod.set(podId, [...(byPod.get(podId) ?? []), c]);
    }
    for (const [podId, cs] of byPod) this.record(podId).containers = cs;
    for (const [podId, rec] of this.records) if (!byPod.has(podId)) rec.containers = [];
    for (const podId of new Set([...this.desired.keys(), ...byPod.keys()]))
      if (this.needsWork(podId)) this.queue.enqueue(podId);
    this.changed();
  }

  /** Stops the pod's containers for good and reports it evicted with `message`. */
  evict(podId: string, message: string): void {
    const rec = this.record(podId);
    if (rec.evicted) return;
    rec.evicted = message;
    this.opts.logger.warn({ podId, reason: "Evicted", message }, "evicting pod");
    this.queue.enqueue(podId);
  }

  /** What to tell the control plane about every pod assigned here or found running here. */
  report(): PodReport[] {
    const reports: PodReport[] = [];
    for (const [podId, a] of this.desired) {
      const rec = this.records.get(podId);
      const cs = rec?.containers ?? [];
      const restarts = rec?.restarts ?? 0;
      if (a.action === "stop")
        reports.push({ podId, state: cs.length === 0 ? "gone" : stateOf(cs), restarts, ready: false });
      else if (rec?.evicted)
        reports.push({
          podId,
          state: "failed",
          restarts,
          ready: false,
          reason: "Evicted",
          message: rec.evicted,
        });
      else if (rec?.failure)
        reports.push({
          podId,
          state: "failed",
          restarts,
          ready: false,
          reason: rec.failure.reason,
          message: rec.failure.message,
        });
      else if (cs.length < a.containers.length)
        reports.push({ podId, state: "creating", restarts, ready: false, reason: "ContainerCreating" });
      else {
        const state = stateOf(cs);
        reports.push({ podId, state, restarts, ready: state === "running" });
      }
    }
    for (const [podId, rec] of this.records)
      if (!this.desired.has(podId) && rec.containers.length > 0)
        reports.push({ podId, state: stateOf(rec.containers), restarts: rec.restarts, ready: false });
    return reports;
  }

  /** Stops every pod of this node (the node leaves) and settles when they are gone. */
  async removeAll(): Promise<void> {
    this.leaving = true;
    await this.observe();
    for (const podId of this.records.keys()) this.queue.enqueue(podId);
    await this.queue.idle();
  }

  /** Settles when no pod work runs or waits. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Stops working on pods (their containers keep running) once the work in hand is done. */
  async stop(): Promise<void> {
    for (const rec of this.records.values()) if (rec.timer) clearTimeout(rec.timer);
    await this.queue.stop();
  }

  private record(podId: string): PodRecord {
    let rec = this.records.get(podId);
    if (!rec) {
      rec = {
        containers: [],
        restarts: 0,
        nextRestartAt: 0,
        failure: null,
        attempts: 0,
        pullFailures: 0,
        retryAt: 0,
        timer: null,
        evicted: null,
      };
      this.records.set(podId, rec);
    }
    return rec;
  }

  private needsWork(podId: string): boolean {
    const a = this.desired.get(podId);
    const rec = this.records.get(podId);
    const cs = rec?.containers ?? [];
    if (this.leaving) return cs.length > 0;
    if (!a) return this.authoritative && cs.length > 0;
    if (a.action === "stop" || rec?.evicted) return cs.length > 0;
    if (rec && rec.retryAt > this.now()) return false; // its timer brings it back
    return cs.length < a.containers.length || cs.some((c) => c.state !== "running");
  }

  private changed(): void {
    const report = JSON.stringify(this.report());
    if (report === this.lastReport) return;
    this.lastReport = report;
    this.opts.onChange();
  }

  /** One pod, one step towards what it should be. Never runs twice at once for one pod. */
  private async syncPod(podId: string): Promise<void> {
    const started = this.now();
    const rec = this.record(podId);
    const a = this.desired.get(podId);
    const filter = { [CONTAINER_LABELS.node]: this.identity.nodeId, [CONTAINER_LABELS.pod]: podId };
    const cs = await this.runtime.list(filter);
    if (this.leaving || !a || a.action === "stop" || rec.evicted) {
      if (cs.length > 0 && (this.leaving || a || this.authoritative)) await this.stopContainers(podId, cs);
    } else if (rec.retryAt <= this.now()) {
      try {
        await this.runPod(a, rec, cs);
        rec.failure = null;
        rec.attempts = 0;
        rec.pullFailures = 0;
      } catch (error) {
        if (!(error instanceof PodFailure)) throw error;
        this.failed(podId, rec, error);
      }
    }
    rec.containers = await this.runtime.list(filter);
    this.opts.logger.debug({ podId, ms: this.now() - started }, "pod work done");
    if (!this.desired.has(podId) && rec.containers.length === 0) {
      if (rec.timer) clearTimeout(rec.timer);
      this.records.delete(podId);
    }
    this.changed();
  }

  private async stopContainers(podId: string, cs: ContainerInfo[]): Promise<void> {
    for (const c of cs) {
      await this.runtime.stop(c.id, this.opts.stopTimeoutSeconds);
      await this.runtime.remove(c.id);
    }
    this.opts.logger.info({ podId, containers: cs.length }, "pod stopped");
  }

  private async runPod(a: Assignment, rec: PodRecord, cs: ContainerInfo[]): Promise<void> {
    const ports = portsOf(a, this.opts.publishAddress);
    for (const t of a.containers) {
      const existing = cs.find((c) => c.labels[CONTAINER_LABELS.container] === t.name);
      const hostPorts = (ports.get(t.name) ?? []).map((p) => p.hostPort);
      if (!existing) {
        await this.pull(t.image, rec);
        const spec = containerSpecOf(a, t, ports.get(t.name) ?? [], this.identity);
        const id = await this.create(spec).catch((error: unknown) => {
          throw createFailure(t.name, error);
        });
        await this.runtime.start(id).catch((error: unknown) => {
          throw startFailure(t.name, hostPorts, error);
        });
        this.opts.logger.info({ podId: a.podId, pod: a.name, container: t.name }, "container started");
      } else if (existing.state === "created") {
        await this.runtime.start(existing.id).catch((error: unknown) => {
          throw startFailure(t.name, hostPorts, error);
        });
      } else if (existing.state !== "running") {
        const wait = rec.nextRestartAt - this.now();
        if (wait > 0) {
          rec.failure = crashLoop(t.name, existing.exitCode, wait);
          this.retryLater(a.podId, rec, wait);
          throw rec.failure;
        }
        await this.runtime.start(existing.id).catch((error: unknown) => {
          throw startFailure(t.name, hostPorts, error);
        });
        rec.restarts += 1;
        rec.nextRestartAt = this.now() + restartDelayMs(rec.restarts);
        this.opts.logger.info(
          { podId: a.podId, container: t.name, exitCode: existing.exitCode, restarts: rec.restarts },
          "container restarted",
        );
      }
    }
  }

  /** One pull per image at a time, shared by every pod that needs it. */
  private async pull(image: string, rec: PodRecord): Promise<void> {
    let pulling = this.pulls.get(image);
    if (!pulling) {
      pulling = this.runtime.ensureImage(image).finally(() => this.pulls.delete(image));
      this.pulls.set(image, pulling);
    }
    try {
      await pulling;
    } catch (error) {
      rec.pullFailures += 1;
      throw pullFailure(image, error, rec.pullFailures);
    }
  }

  private async create(spec: Parameters<ContainerRuntime["create"]>[0]): Promise<string> {
    try {
      return await this.runtime.create(spec);
    } catch (error) {
      // A container of that name left by a crash between create and label: replace it.
      if (!isRuntimeError(error, "CONFLICT")) throw error;
      await this.runtime.remove(spec.name);
      return this.runtime.create(spec);
    }
  }

  private failed(podId: string, rec: PodRecord, failure: PodFailure): void {
    rec.failure = failure;
    if (failure.reason === "CrashLoopBackOff") return; // its timer is set
    rec.attempts += 1;
    const delay =
      failure.reason === "ErrImagePull" || failure.reason === "ImagePullBackOff"
        ? pullDelayMs(rec.pullFailures)
        : retryDelayMs(rec.attempts);
    this.opts.logger.warn(
      { podId, reason: failure.reason, err: failure.detail, retryInMs: delay },
      failure.message,
    );
    this.retryLater(podId, rec, delay);
  }

  private retryLater(podId: string, rec: PodRecord, delayMs: number): void {
    if (rec.timer) clearTimeout(rec.timer);
    rec.retryAt = this.now() + delayMs;
    rec.timer = setTimeout(() => {
      rec.timer = null;
      rec.retryAt = 0;
      this.queue.enqueue(podId);
    }, delayMs);
    rec.timer.unref?.();
  }
}
