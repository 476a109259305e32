/**
 * What the agent tells the control plane about one pod: Kubernetes-shaped statuses of its init
 * containers and containers, the phase by kubelet's rules, kubectl's one-word reason, whether it is
 * ready (every container's readiness passed), its restarts (summed), and the older `state` field.
 */
import type { Assignment, PodReport } from "@berth/protocol";
import type { ProbeStates } from "../probes/handover";
import type { ContainerInfo } from "../runtime";
import type { PodRecord } from "./context";
import { instancesOf } from "./instances";
import { currentSandbox } from "./sandbox";
import { type ContainerView, containerStatusOf, podPhase, podReason } from "./status";
import { initialized } from "./sync";

/**
 * `inherited`: probe states handed over for instances whose probes do not run yet (see handover.ts);
 * `imageIdOf`: a container's `imageID` as Kubernetes shows it (default: the engine's image id).
 */
export function podReportOf(
  a: Assignment,
  rec: PodRecord | undefined,
  inherited: ProbeStates = new Map(),
  imageIdOf: (c: ContainerInfo) => string = (c) => c.imageId,
): PodReport {
  const cs = rec?.containers ?? [];
  const init = initialized(a, cs);
  const view = (name: string, image: string, isInit: boolean): ContainerView => {
    const memo = rec?.memos.get(name);
    const { current, previous } = instancesOf(cs, name);
    const running = current?.state === "running";
    // What the agent last said about it holds until an instance runs (a failed postStart hook: until it is gone).
    let waiting = memo?.waiting ?? null;
    if (waiting && running && waiting.reason !== "PostStartHookError") waiting = null;
    if (!waiting && !current && !isInit && !init) waiting = { reason: "PodInitializing" };
    const probes =
      current === null
        ? null
        : memo?.probesFor === current.id
          ? memo.probes
          : (inherited.get(current.id) ?? null);
    return {
      name,
      image,
      init: isInit,
      current,
      previous,
      waiting,
      starting: current !== null && memo?.postStartFor === current.id,
      started: running && (probes ? probes.started : !hasProbe(a, name, "startupProbe")),
      ready: running && (probes ? probes.ready : !hasProbe(a, name, "readinessProbe")),
      ...(current ? { imageID: imageIdOf(current) } : {}),
    };
  };
  const initStatuses = a.initContainers.map((t) => containerStatusOf(view(t.name, t.image, true)));
  const statuses = a.containers.map((t) => containerStatusOf(view(t.name, t.image, false)));
  const phase = podPhase(a.restartPolicy, initStatuses, statuses, a.terminal);
  const failure = rec?.failure ?? rec?.sandboxFailure;
  const why = failure
    ? { reason: failure.reason, message: failure.message }
    : podReason(phase, initStatuses, statuses);
  const ready = phase === "Running" && statuses.every((s) => s.ready);
  const restarts = [...initStatuses, ...statuses].reduce((n, s) => n + s.restartCount, 0);
  const state: PodReport["state"] =
    phase === "Succeeded" || phase === "Failed"
      ? "exited"
      : phase === "Running"
        ? "running"
        : why && why.reason !== "ContainerCreating" && why.reason !== "PodInitializing"
          ? "failed"
          : "creating";
  // The sandbox's address (pods from before sandboxes: their first running container's).
  const sandbox = currentSandbox(cs);
  const podIP = sandbox
    ? sandbox.state === "running" && sandbox.ipAddress
    : a.containers
        .map((t) => instancesOf(cs, t.name).current)
        .find((c) => c?.state === "running" && c.ipAddress)?.ipAddress;
  return {
    podId: a.podId,
    state,
    restarts,
    ready,
    phase,
    ...(podIP ? { podIP } : {}),
    ...(initStatuses.length > 0 ? { initContainers: initStatuses } : {}),
    containers: statuses,
    ...(why ? { reason: why.reason, ...(why.message ? { message: why.message.slice(0, 1024) } : {}) } : {}),
  };
}

function hasProbe(a: Assignment, name: string, probe: "startupProbe" | "readinessProbe"): boolean {
  return a.containers.find((t) => t.name === name)?.[probe] !== undefined;
}
