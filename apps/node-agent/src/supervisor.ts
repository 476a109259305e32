import type { Logger } from "@berth/core";
import type { Assignment, PodReport } from "./api";
import { type ContainerInfo, type ContainerRuntime, type ContainerSpec, isRuntimeError } from "./runtime";

export const LABEL = {
  node: "berth.node",
  pod: "berth.pod",
  container: "berth.container",
  podName: "berth.pod-name",
  namespace: "berth.namespace",
} as const;

/** Restart back-off, as Kubernetes' CrashLoopBackOff: the first restart is immediate, then 1 s, 2 s, … up to 60 s. */
export function restartDelayMs(restarts: number): number {
  return restarts === 0 ? 0 : Math.min(1000 * 2 ** (restarts - 1), 60_000);
}

export type Observed = Map<string, ContainerInfo[]>;

/**
 * Keeps this node's containers as the control plane assigned them: creates what is missing,
 * restarts what exited (with back-off), removes what should stop. It only ever touches
 * containers labelled with its own node id.
 */
export class PodSupervisor {
  private readonly restarts = new Map<string, number>();
  private readonly nextRestartAt = new Map<string, number>();
  private readonly failures = new Map<string, string>();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly nodeId: string,
    private readonly opts: {
      publishAddress: string;
      stopTimeoutSeconds: number;
      logger: Logger;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  async observe(): Promise<Observed> {
    const byPod: Observed = new Map();
    for (const c of await this.runtime.list({ [LABEL.node]: this.nodeId })) {
      const podId = c.labels[LABEL.pod];
      if (!podId) continue;
      byPod.set(podId, [...(byPod.get(podId) ?? []), c]);
    }
    return byPod;
  }

  /** What to tell the control plane about every pod assigned here or found running here. */
  report(observed: Observed, assignments: readonly Assignment[]): PodReport[] {
    const reports: PodReport[] = [];
    const stateOf = (cs: ContainerInfo[]) => (cs.every((c) => c.state === "running") ? "running" : "exited");
    for (const a of assignments) {
      const cs = observed.get(a.podId) ?? [];
      const restarts = this.restarts.get(a.podId) ?? 0;
      const failure = this.failures.get(a.podId);
      if (a.action === "stop")
        reports.push({
          podId: a.podId,
          state: cs.length === 0 ? "gone" : stateOf(cs),
          restarts,
          ready: false,
        });
      else if (failure)
        reports.push({ podId: a.podId, state: "failed", restarts, ready: false, message: failure });
      else if (cs.length < a.containers.length)
        reports.push({ podId: a.podId, state: "creating", restarts, ready: false });
      else {
        const state = stateOf(cs);
        reports.push({ podId: a.podId, state, restarts, ready: state === "running" });
      }
    }
    const assigned = new Set(assignments.map((a) => a.podId));
    for (const [podId, cs] of observed)
      if (!assigned.has(podId))
        reports.push({ podId, state: stateOf(cs), restarts: this.restarts.get(podId) ?? 0, ready: false });
    return reports;
  }

  /** Moves the containers one step towards the assignments. Errors of one pod do not stop the others. */
  async act(observed: Observed, assignments: readonly Assignment[]): Promise<void> {
    for (const a of assignments) {
      const cs = observed.get(a.podId) ?? [];
      try {
        if (a.action === "stop") await this.stopPod(a.podId, cs);
        else await this.runPod(a, cs);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.failures.set(a.podId, message.slice(0, 1000));
        this.opts.logger.warn({ podId: a.podId, err: message }, "pod action failed");
      }
    }
  }

  async removeAll(): Promise<void> {
    for (const [podId, cs] of await this.observe()) await this.stopPod(podId, cs);
  }

  private async stopPod(podId: string, cs: ContainerInfo[]): Promise<void> {
    for (const c of cs) {
      await this.runtime.stop(c.id, this.opts.stopTimeoutSeconds);
      await this.runtime.remove(c.id);
    }
    this.restarts.delete(podId);
    this.nextRestartAt.delete(podId);
    this.failures.delete(podId);
  }

  private async runPod(a: Assignment, cs: ContainerInfo[]): Promise<void> {
    let portIndex = 0;
    for (const t of a.containers) {
      const ports = t.ports.map((p) => ({
        containerPort: p.containerPort,
        hostPort: a.hostPorts[portIndex++] ?? 0,
        hostIp: this.opts.publishAddress,
        protocol: p.protocol === "UDP" ? ("udp" as const) : ("tcp" as const),
      }));
      const existing = cs.find((c) => c.labels[LABEL.container] === t.name);
      if (!existing) {
        const spec: ContainerSpec = {
          name: `berth-${a.podId}-${t.name}`,
          image: t.image,
          command: t.command,
          args: t.args,
          env: Object.fromEntries(t.env.map((e) => [e.name, e.value])),
          labels: {
            [LABEL.node]: this.nodeId,
            [LABEL.pod]: a.podId,
            [LABEL.container]: t.name,
            [LABEL.podName]: a.name,
            [LABEL.namespace]: a.namespace,
          },
          ports: ports.filter((p) => p.hostPort > 0),
          resources: { nanoCpus: t.limits.cpuMillis * 1_000_000, memoryBytes: t.limits.memoryBytes },
          hostname: a.name.slice(0, 63),
        };
        await this.runtime.ensureImage(t.image);
        let id: string;
        try {
          id = await this.runtime.create(spec);
        } catch (error) {
          // A container of that name left by a crash between create and label: replace it.
          if (!isRuntimeError(error, "CONFLICT")) throw error;
          await this.runtime.remove(spec.name);
          id = await this.runtime.create(spec);
        }
        await this.runtime.start(id);
        this.opts.logger.info({ podId: a.podId, pod: a.name, container: t.name }, "container started");
      } else if (existing.state === "created") {
        await this.runtime.start(existing.id);
      } else if (existing.state !== "running") {
        const restarts = this.restarts.get(a.podId) ?? 0;
        const due = this.nextRestartAt.get(a.podId) ?? 0;
        if (this.now() < due) {
          this.failures.set(
            a.podId,
            `CrashLoopBackOff: ${t.name} exited (code ${existing.exitCode}); restarting in ${Math.ceil((due - this.now()) / 1000)} s`,
          );
          return;
        }
        await this.runtime.start(existing.id);
        this.restarts.set(a.podId, restarts + 1);
        this.nextRestartAt.set(a.podId, this.now() + restartDelayMs(restarts + 1));
        this.opts.logger.info(
          { podId: a.podId, container: t.name, exitCode: existing.exitCode, restarts: restarts + 1 },
          "container restarted",
        );
      }
    }
    this.failures.delete(a.podId);
  }
}
