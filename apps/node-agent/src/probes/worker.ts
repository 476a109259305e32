/**
 * The probes of one container instance, run as kubelet's probe workers run them: each probe on
 * its own timer (a check at once, then every `periodSeconds`), none before `initialDelaySeconds`
 * from the container's start, liveness and readiness only once the startup probe has passed (which
 * then stops). A result counts once it repeats `successThreshold` / `failureThreshold` times in a
 * row. Readiness starts as failure, liveness as success, startup as unknown — or, for an instance
 * the agent before this one probed, as that agent had settled them. A liveness or startup
 * failure puts the worker on hold: the container is to be killed, and a new instance gets new
 * workers. Every failed check is an `Unhealthy` event.
 */
import type { Probe } from "@berth/protocol";
import type { ContainerRuntime } from "../runtime";
import { type CheckOutcome, type CheckTarget, runCheck } from "./check";
import type { ProbeState } from "./handover";

export type ProbeKind = "readiness" | "liveness" | "startup";
const TITLE: Record<ProbeKind, string> = { readiness: "Readiness", liveness: "Liveness", startup: "Startup" };

export interface ProbeSetOptions {
  runtime: ContainerRuntime;
  target: CheckTarget;
  /** When the instance started (initialDelaySeconds counts from here). */
  startedAt: number;
  probes: { readiness?: Probe | undefined; liveness?: Probe | undefined; startup?: Probe | undefined };
  now: () => number;
  /** Something a report shows changed (ready, started). */
  onChange: () => void;
  /** A liveness or startup probe failed for good: the container must be killed. */
  onFailure: (kind: "liveness" | "startup", probe: Probe) => void;
  /** A failed (or warning) check, for the pod's events. */
  onEvent: (type: "Warning", reason: "Unhealthy" | "ProbeWarning", message: string) => void;
  /** Runs a check (the real one unless a test says otherwise). */
  check?: (probe: Probe, target: CheckTarget, timeoutMs: number) => Promise<CheckOutcome>;
  /** What the instance's probes had settled under the agent before this one (see handover.ts). */
  initial?: ProbeState | undefined;
}

interface Worker {
  kind: ProbeKind;
  probe: Probe;
  timer: NodeJS.Timeout | null;
  lastResult: "success" | "failure" | null;
  run: number;
  onHold: boolean;
  running: boolean;
}

export class ProbeSet {
  /** Startup passed (or there is no startup probe). */
  started: boolean;
  /** Readiness passed (or there is no readiness probe). */
  ready: boolean;
  /** Set once liveness or startup failed for good. */
  failed: { kind: "liveness" | "startup"; probe: Probe } | null = null;
  private readonly workers: Worker[] = [];
  private stopped = false;

  constructor(private readonly o: ProbeSetOptions) {
    this.started = o.probes.startup === undefined || o.initial?.started === true;
    this.ready = o.probes.readiness === undefined || (this.started && o.initial?.ready === true);
    for (const kind of ["startup", "liveness", "readiness"] as const) {
      const probe = o.probes[kind];
      // A startup probe that passed is done (it stops once passed).
      if (probe && !(kind === "startup" && this.started))
        this.workers.push({
          kind,
          probe,
          timer: null,
          lastResult: null,
          run: 0,
          onHold: false,
          running: false,
        });
    }
    for (const w of this.workers) this.schedule(w, 0);
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.workers) if (w.timer) clearTimeout(w.timer);
  }

  /** Probes readiness at once (kubelet does when a container is not yet ready, e.g. just started). */
  private triggerReadiness(): void {
    const w = this.workers.find((x) => x.kind === "readiness");
    if (w && !w.running) this.schedule(w, 0);
  }

  private schedule(w: Worker, delayMs: number): void {
    if (this.stopped) return;
    if (w.timer) clearTimeout(w.timer);
    w.timer = setTimeout(() => {
      w.timer = null;
      void this.tick(w);
    }, delayMs);
    w.timer.unref?.();
  }

  private async tick(w: Worker): Promise<void> {
    const began = this.o.now();
    w.running = true;
    try {
      await this.probeOnce(w);
    } finally {
      w.running = false;
    }
    if (w.kind === "startup" && this.started) return; // startup probes stop once passed
    this.schedule(w, Math.max(0, began + w.probe.periodSeconds * 1000 - this.o.now()));
  }

  private async probeOnce(w: Worker): Promise<void> {
    if (w.onHold || this.stopped) return;
    if (this.o.now() - this.o.startedAt < w.probe.initialDelaySeconds * 1000) return;
    if (w.kind !== "startup" && !this.started) return;
    const check = this.o.check ?? ((p, t, ms) => runCheck(this.o.runtime, p, t, ms));
    let outcome: CheckOutcome;
    try {
      outcome = await check(w.probe, this.o.target, w.probe.timeoutSeconds * 1000);
    } catch {
      return; // a prober error: no result
    }
    if (this.stopped || outcome.result === "unknown") return;
    if (outcome.result === "warning")
      this.o.onEvent("Warning", "ProbeWarning", `${TITLE[w.kind]} probe warning: ${outcome.output}`);
    const result = outcome.result === "failure" ? "failure" : "success";
    if (result === "failure")
      this.o.onEvent("Warning", "Unhealthy", `${TITLE[w.kind]} probe failed: ${outcome.output}`.trimEnd());
    w.run = w.lastResult === result ? w.run + 1 : 1;
    w.lastResult = result;
    const threshold = result === "failure" ? w.probe.failureThreshold : w.probe.successThreshold;
    if (w.run < threshold) return;
    this.settle(w, result);
  }

  private settle(w: Worker, result: "success" | "failure"): void {
    if (w.kind === "readiness") {
      if (this.ready !== (result === "success")) {
        this.ready = result === "success";
        this.o.onChange();
      }
      return;
    }
    if (w.kind === "startup" && result === "success") {
      if (!this.started) {
        this.started = true;
        this.o.onChange();
        this.triggerReadiness();
      }
      return;
    }
    if (result === "failure") {
      w.onHold = true;
      w.run = 0;
      if (!this.failed) {
        this.failed = { kind: w.kind === "startup" ? "startup" : "liveness", probe: w.probe };
        this.o.onFailure(this.failed.kind, w.probe);
      }
    }
  }
}
