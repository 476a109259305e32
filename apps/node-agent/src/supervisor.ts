import type { Logger } from "@berth/core";
import { groupBy } from "@berth/core";
import { type Assignment, CONTAINER_LABELS, type PodEvent, type PodReport } from "@berth/protocol";
import type { NodeIdentity } from "./pod-spec";
import { Backoff } from "./pods/backoff";
import { newRecord, type PodContext, type PodRecord } from "./pods/context";
import { EventLog } from "./pods/events";
import { ImagePuller } from "./pods/images";
import { instancesOf } from "./pods/instances";
import { fingerprintOf, PodLooks } from "./pods/looks";
import { podReportOf } from "./pods/report";
import { probeRunning, syncRunningPod } from "./pods/sync";
import { drainFirst, terminatePod } from "./pods/termination";
import type { ProbeStates } from "./probes/handover";
import type { ContainerInfo, ContainerRuntime } from "./runtime";
import { PodVolumes } from "./volumes/pod-volumes";
import { KeyedWorkQueue } from "./work-queue";

export { restartDelayMs } from "./pod-failures";

export interface SupervisorOptions {
  publishAddress: string;
  /** Seconds containers nobody assigned (and pods of a node that leaves without their templates) get to stop. */
  stopTimeoutSeconds: number;
  /** Pods worked on at once (each pod's own steps always run one at a time). */
  concurrency: number;
  /** Where pods' volumes live on the node (`<dir>/<podId>/volumes/<name>`). */
  podsDir: string;
  logger: Logger;
  /** Called when what `report()` says has changed, or events wait to be reported. */
  onChange: () => void;
  now?: () => number;
  /** How a new container of a pod in a namespace joins its cluster's network (none: the engine's default). */
  podNetwork?: PodContext["podNetwork"];
  /** Probe states the agent before this one handed over (filled before the first `observe`). */
  inheritedProbes?: ProbeStates;
  /** Holds a deleted pod out of every node's rotation before it stops (at most `maxMs`; resolves with the time waited). */
  drain?: (podId: string, maxMs: number) => Promise<number>;
}

/** Whether a pod gets work again once its detached work is done (default: yes). */
type Requeue = { requeue?: () => boolean };

const stateOf = (cs: ContainerInfo[]) => (cs.some((c) => c.state === "running") ? "running" : "exited");

/** Volume directories of pods gone (a rare leftover) are looked for this often, not every observe. */
const ORPHAN_SWEEP_MS = 10_000;

/**
 * Keeps this node's containers as the control plane assigned them, as kubelet keeps its pods:
 * init containers in order, then the containers, each restarted per the pod's restart policy with
 * kubelet's back-off, probed, killed gracefully (preStop, SIGTERM, SIGKILL) when their liveness
 * fails or their pod goes; volumes made and kept current; what nobody assigned removed. Pods are
 * worked on concurrently (bounded), one step at a time each; waits (grace periods, hooks) run
 * outside that bound. It only ever touches containers labelled with its own node id.
 */
export class PodSupervisor {
  private readonly desired = new Map<string, Assignment>();
  private readonly records = new Map<string, PodRecord>();
  private readonly queue: KeyedWorkQueue;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly ctx: PodContext;
  readonly events: EventLog;
  /** Whether a full list of assignments arrived: only then is a pod nobody assigned an orphan. */
  private authoritative = false;
  private leaving = false;
  private stopped = false;
  private lastReport = "";
  private readonly looks: PodLooks;
  /** Whether a look at every container of the node has been taken since the agent started. */
  private observed = false;
  /** When volume directories of pods gone were last looked for. */
  private orphansSweptAt = Number.NEGATIVE_INFINITY;
  private gotAssignments: () => void = () => {};
  /** Settles once the first full list of assignments arrived. */
  readonly assigned = new Promise<void>((resolve) => (this.gotAssignments = resolve));

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly identity: NodeIdentity,
    private readonly opts: SupervisorOptions,
  ) {
    const now = () => this.now();
    this.looks = new PodLooks(runtime, identity.nodeId, now);
    this.queue = new KeyedWorkQueue(
      opts.concurrency,
      (podId) => this.syncPod(podId),
      (podId, error) => opts.logger.error({ podId, err: error }, "pod work failed"),
    );
    this.events = new EventLog(now, () => opts.onChange());
    this.ctx = {
      runtime,
      identity,
      publishAddress: opts.publishAddress,
      logger: opts.logger,
      events: this.events,
      images: new ImagePuller(runtime, now),
      volumes: new PodVolumes(opts.podsDir),
      backoff: new Backoff(now),
      stopTimeoutSeconds: opts.stopTimeoutSeconds,
      now,
      enqueue: (podId) => this.queue.enqueue(podId),
      wake: (rec, at) => this.wake(rec, at),
      changed: () => this.changed(),
      inheritedProbes: opts.inheritedProbes ?? new Map(),
      detach: (podId, what, fn) => this.detach(podId, what, fn),
      podNetwork: opts.podNetwork ?? (async () => undefined),
    };
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
    this.gotAssignments();
    // A pod gets work when anything of its assignment changed: action, terminal, resolved volumes.
    for (const a of list)
      if (JSON.stringify(before.get(a.podId)) !== JSON.stringify(a)) this.queue.enqueue(a.podId);
    for (const podId of before.keys()) if (!this.desired.has(podId)) this.queue.enqueue(podId);
    for (const podId of this.records.keys()) if (!this.desired.has(podId)) this.queue.enqueue(podId);
    this.changed();
  }

  assignment(podId: string): Assignment | undefined {
    return this.desired.get(podId);
  }

  /** Whether the engine container is the current instance of its pod's container (not one kept from before). */
  isCurrent(podId: string, containerId: string): boolean {
    const cs = this.records.get(podId)?.containers ?? [];
    const c = cs.find((x) => x.id === containerId);
    return (
      c !== undefined && instancesOf(cs, c.labels[CONTAINER_LABELS.container] ?? "").current?.id === c.id
    );
  }

  /** How many pods should run here. */
  get running(): number {
    return [...this.desired.values()].filter((a) => a.action === "run").length;
  }

  /** Looks at every container of this node; pods whose containers changed, lack containers or are orphans get work. */
  async observe(): Promise<void> {
    const mark = this.looks.mark();
    const byPod = groupBy(
      await this.runtime.list({ [CONTAINER_LABELS.node]: this.identity.nodeId }),
      (c) => c.labels[CONTAINER_LABELS.pod] || undefined,
    );
    // What image each container runs (its repository digest), for containers this agent did not start.
    await this.ctx.images.learn([...byPod.values()].flat());
    for (const [podId, cs] of byPod) {
      const rec = this.record(podId);
      if (this.looks.take(rec, mark, cs, true) && fingerprintOf(cs) !== rec.fingerprint)
        this.queue.enqueue(podId);
    }
    for (const [podId, rec] of this.records)
      if (!byPod.has(podId) && this.looks.take(rec, mark, [], true) && rec.fingerprint !== "")
        this.queue.enqueue(podId);
    this.observed = true;
    for (const podId of this.desired.keys()) if (!this.records.has(podId)) this.queue.enqueue(podId);
    if (this.authoritative && !this.leaving) await this.removeOrphanVolumes(byPod);
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
      const restarts = 0;
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
      else reports.push(podReportOf(a, rec, this.ctx.inheritedProbes, (c) => this.ctx.images.imageIdOf(c)));
    }
    for (const [podId, rec] of this.records)
      if (!this.desired.has(podId) && rec.containers.length > 0)
        reports.push({ podId, state: stateOf(rec.containers), restarts: 0, ready: false });
    return reports;
  }

  /** What the probes of each instance have settled (or were handed over), for the next agent. */
  probeStates(): ProbeStates {
    const states: ProbeStates = new Map();
    for (const rec of this.records.values()) {
      for (const c of rec.containers) {
        const inherited = this.ctx.inheritedProbes.get(c.id);
        if (inherited) states.set(c.id, inherited);
      }
      for (const m of rec.memos.values())
        if (m.probes && m.probesFor)
          states.set(m.probesFor, { started: m.probes.started, ready: m.probes.ready });
    }
    return states;
  }

  /** Events since the last report (a report that fails gives them back with `restoreEvents`). */
  takeEvents(): PodEvent[] {
    return this.events.take();
  }

  restoreEvents(events: readonly PodEvent[]): void {
    this.events.restore(events);
  }

  /** Stops every pod of this node (the node leaves) and settles when they are gone. */
  async removeAll(): Promise<void> {
    this.leaving = true;
    await this.observe();
    for (const podId of this.records.keys()) this.queue.enqueue(podId);
    await this.idle();
  }

  /** Settles when no pod work runs, waits or is in flight (grace periods, hooks). */
  async idle(): Promise<void> {
    for (;;) {
      await this.queue.idle();
      if (this.inFlight.size === 0) return;
      await Promise.allSettled([...this.inFlight]);
    }
  }

  /** Stops working on pods (their containers keep running) once the work in hand is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const rec of this.records.values()) {
      if (rec.timer) clearTimeout(rec.timer);
      for (const m of rec.memos.values()) m.probes?.stop();
    }
    await this.queue.stop();
    await Promise.allSettled([...this.inFlight]);
  }

  /** The pod's record; a new one is `known` to have no containers once the node was looked at. */
  private record(podId: string, known = false): PodRecord {
    let rec = this.records.get(podId);
    if (rec) return rec;
    rec = newRecord(podId);
    if (known && this.observed) this.looks.known(rec);
    this.records.set(podId, rec);
    return rec;
  }

  private changed(): void {
    const reports = this.report();
    for (const r of reports) {
      const rec = this.records.get(r.podId);
      if (r.phase === "Succeeded" && rec && !rec.completed) {
        rec.completed = true;
        this.events.add(r.podId, "Normal", "Completed", "All containers of the pod completed successfully");
      }
    }
    const report = JSON.stringify(reports);
    if (report === this.lastReport && this.events.size === 0) return;
    this.lastReport = report;
    this.opts.onChange();
  }

  /** One pod, one step towards what it should be. Never runs twice at once for one pod. */
  private async syncPod(podId: string): Promise<void> {
    const started = this.now();
    const rec = this.record(podId, true);
    if (!rec.terminating && !this.looks.fresh(rec)) await this.looks.look(rec);
    if (rec.terminating) return;
    // Read after the look: assignments that arrived during it (a restarted agent's first) decide.
    const a = this.desired.get(podId);
    const remove = this.leaving || !a || a.action === "stop" || rec.evicted !== null;
    if (remove) {
      // Pods nobody assigned are only removed once a full list of assignments arrived.
      if (this.leaving || a || this.authoritative) this.terminate(rec, a);
      return;
    }
    const before = fingerprintOf(rec.containers);
    const changed = rec.changedSeq;
    await syncRunningPod({ ...this.ctx, runtime: this.looks.changing(rec) }, rec, a);
    if (rec.changedSeq !== changed) await this.looks.look(rec);
    probeRunning(this.ctx, rec, a);
    rec.fingerprint = fingerprintOf(rec.containers);
    // Something changed meanwhile (a container started, or already exited): look again.
    if (rec.fingerprint !== before) this.queue.enqueue(podId);
    this.opts.logger.debug({ podId, ms: this.now() - started }, "pod work done");
    this.changed();
  }

  /**
   * Stops the pod's containers (each with its grace period and preStop hook; an evicted pod's
   * quickly) and removes them and its volumes, outside the work queue's bound.
   */
  private terminate(rec: PodRecord, a: Assignment | undefined): void {
    rec.terminating = true;
    // An assignment without containers (an unknown pod, a configuration error) has no templates.
    const known = a && a.containers.length > 0 ? a : undefined;
    const quick = rec.evicted !== null || this.leaving;
    const drain = this.opts.drain;
    this.detach(
      rec.podId,
      "stopping the pod",
      async () => {
        const serving = rec.containers.some((c) => c.state === "running");
        const grace = quick
          ? { gracePeriodSeconds: this.opts.stopTimeoutSeconds }
          : serving && known?.action === "stop" && drain
            ? await drainFirst(rec.podId, known, drain)
            : {};
        await terminatePod(this.ctx, rec, known, { remove: true, ...grace }).finally(() => {
          rec.terminating = false;
        });
      },
      // Once removed, only a pod that should run after all (assigned again meanwhile) gets more work.
      { requeue: () => !this.leaving && this.desired.get(rec.podId)?.action === "run" && !rec.evicted },
    );
  }

  /** Forgets pods that are gone from the node (after their work, so a report says `gone` once). */
  private forgetIfGone(podId: string): void {
    const rec = this.records.get(podId);
    if (!rec || this.desired.has(podId) || rec.containers.length > 0 || rec.terminating) return;
    // Not while other work on the pod runs: a record made anew is known to have no containers.
    if (rec.working > 0 || this.queue.isRunning(podId)) return;
    if (rec.timer) clearTimeout(rec.timer);
    for (const m of rec.memos.values()) m.probes?.stop();
    this.records.delete(podId);
  }

  /** Runs `fn` outside the work queue; then the pod is looked at again (unless `requeue` says not), or forgotten when gone. */
  private detach(podId: string, what: string, fn: () => Promise<void>, o: Requeue = {}): void {
    const rec = this.record(podId);
    this.looks.working(rec, 1);
    const run = fn()
      .catch((error: unknown) =>
        this.opts.logger.warn({ podId, err: (error as Error).message }, `${what} failed`),
      )
      .finally(async () => {
        this.inFlight.delete(run);
        this.looks.working(rec, -1);
        if (this.records.get(podId) === rec) {
          await this.looks.look(rec).catch(() => {});
          rec.fingerprint = fingerprintOf(rec.containers);
          this.forgetIfGone(podId);
        }
        if (!this.stopped && (o.requeue?.() ?? true)) this.queue.enqueue(podId);
        this.changed();
      });
    this.inFlight.add(run);
  }

  private wake(rec: PodRecord, at: number): void {
    if (this.stopped) return;
    if (rec.timer && rec.wakeAt <= at && rec.wakeAt > this.now()) return;
    if (rec.timer) clearTimeout(rec.timer);
    rec.wakeAt = at;
    rec.timer = setTimeout(
      () => {
        rec.timer = null;
        this.queue.enqueue(rec.podId);
      },
      Math.max(0, at - this.now()),
    );
    rec.timer.unref?.();
  }

  /** Volume directories of pods that are neither assigned nor have containers here. */
  private async removeOrphanVolumes(byPod: Map<string, ContainerInfo[]>): Promise<void> {
    if (this.now() - this.orphansSweptAt < ORPHAN_SWEEP_MS) return;
    this.orphansSweptAt = this.now();
    for (const podId of await this.ctx.volumes.podsOnDisk()) {
      if (this.desired.has(podId) || byPod.has(podId) || this.records.get(podId)?.terminating) continue;
      await this.ctx.volumes
        .teardown(podId)
        .catch((e: unknown) =>
          this.opts.logger.warn({ podId, err: (e as Error).message }, "could not remove a pod's volumes"),
        );
    }
  }
}
