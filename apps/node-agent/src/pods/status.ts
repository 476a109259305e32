/**
 * A pod's status as kubelet reports it: each container's state in Kubernetes' shape
 * (`containerStatuses[]`), the pod's phase by kubelet's rules (`getPhase`), and the one-word
 * reason kubectl's STATUS column shows. Pure: views of the containers in, statuses out.
 */
import type { ContainerStatus, PodReason } from "@berth/protocol";
import { POD_REASONS, type TERMINATION_REASONS } from "@berth/protocol";
import type { ContainerInfo } from "../runtime";
import { hasEnded, restartCountOf } from "./instances";

type Terminated = NonNullable<ContainerStatus["state"]["terminated"]>;
export type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed";

/** What the agent knows of one container of a pod. */
export interface ContainerView {
  name: string;
  image: string;
  init: boolean;
  current: ContainerInfo | null;
  previous: ContainerInfo | null;
  /** Why it is not running (ErrImagePull, CrashLoopBackOff, …) when the agent knows; wins over the engine's state. */
  waiting: { reason: string; message?: string } | null;
  /** Its postStart hook still runs: Kubernetes shows it as still being created. */
  starting: boolean;
  /** Its startup probe passed (or it has none) while running. */
  started: boolean;
  /** Its readiness probe passed (or it has none) while started. */
  ready: boolean;
  /** Kubernetes' `imageID` of the current instance (`<repo>@sha256:…`), when known; else the engine's image id. */
  imageID?: string;
}

const iso = (t: string | null): string | null => (t ? new Date(t).toISOString() : null);

/** How an instance ended, in Kubernetes' words. */
export function terminationOf(c: ContainerInfo): Terminated {
  const exitCode = Math.max(-1, Math.min(255, c.exitCode ?? -1));
  const reason: (typeof TERMINATION_REASONS)[number] = c.oomKilled
    ? "OOMKilled"
    : exitCode === 0
      ? "Completed"
      : "Error";
  return {
    exitCode,
    ...(exitCode > 128 && exitCode < 128 + 65 ? { signal: exitCode - 128 } : {}),
    reason,
    startedAt: iso(c.startedAt),
    finishedAt: iso(c.finishedAt),
    containerID: `docker://${c.id}`,
  };
}

export function containerStatusOf(v: ContainerView): ContainerStatus {
  const c = v.current;
  const base = {
    name: v.name,
    image: v.image,
    restartCount: c ? restartCountOf(c) : 0,
    ...(c
      ? {
          containerID: `docker://${c.id}`,
          ...((v.imageID ?? c.imageId) ? { imageID: v.imageID ?? c.imageId } : {}),
        }
      : {}),
  };
  const running = c?.state === "running" && !v.starting;
  if (v.waiting || !c || c.state === "created" || v.starting) {
    // Waiting: a restart in back-off shows the run that ended as its last state.
    const last =
      c && hasEnded(c)
        ? terminationOf(c)
        : v.previous && hasEnded(v.previous)
          ? terminationOf(v.previous)
          : null;
    return {
      ...base,
      ready: false,
      started: false,
      state: {
        waiting: v.waiting ? clip(v.waiting) : { reason: v.init ? "PodInitializing" : "ContainerCreating" },
      },
      lastState: last ? { terminated: last } : {},
    };
  }
  const lastState = v.previous && hasEnded(v.previous) ? { terminated: terminationOf(v.previous) } : {};
  if (running)
    return {
      ...base,
      ready: v.started && v.ready,
      started: v.started,
      state: { running: { startedAt: iso(c.startedAt) } },
      lastState,
    };
  if (hasEnded(c))
    return { ...base, ready: false, started: false, state: { terminated: terminationOf(c) }, lastState };
  // paused, restarting, removing, unknown: not running, not ended.
  return {
    ...base,
    ready: false,
    started: false,
    state: { waiting: { reason: "ContainerCreating" } },
    lastState,
  };
}

function clip(w: { reason: string; message?: string }): { reason: string; message?: string } {
  return {
    reason: w.reason.slice(0, 64),
    ...(w.message ? { message: w.message.length > 1024 ? `${w.message.slice(0, 1021)}...` : w.message } : {}),
  };
}

/**
 * Kubelet's `getPhase` (without sidecar init containers): Pending until every init container
 * succeeded and every container started; Running while one runs (or, with restartPolicy Always,
 * restarts); Succeeded when all ended with 0 and none will restart; Failed when all ended and one
 * failed for good — or an init container failed under restartPolicy Never.
 */
export function podPhase(
  restartPolicy: "Always" | "OnFailure" | "Never",
  init: readonly ContainerStatus[],
  containers: readonly ContainerStatus[],
  terminal: boolean,
): PodPhase {
  let pendingInit = 0;
  let failedInit = 0;
  for (const s of init) {
    if (s.state.running) pendingInit++;
    else if (s.state.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInit++;
    } else if (s.lastState.terminated) {
      if (s.lastState.terminated.exitCode !== 0) failedInit++;
    } else pendingInit++;
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of containers) {
    if (s.state.running) running++;
    else if (s.state.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.lastState.terminated) stopped++;
    else waiting++;
  }
  if (failedInit > 0 && restartPolicy === "Never") return "Failed";
  if (pendingInit > 0 || waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (terminal) return stopped === succeeded ? "Succeeded" : "Failed";
    if (restartPolicy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (restartPolicy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

const KNOWN: ReadonlySet<string> = new Set(POD_REASONS);
const known = (r: string): PodReason | null => (KNOWN.has(r) ? (r as PodReason) : null);

/**
 * The reason kubectl's STATUS column shows for the pod, when it is not simply running: the first
 * init container's trouble (`Init:Error`, `Init:CrashLoopBackOff`, …) or `PodInitializing`, else a
 * container's waiting reason, else how a finished pod ended (`Completed`, `Error`, `OOMKilled`).
 */
export function podReason(
  phase: PodPhase,
  init: readonly ContainerStatus[],
  containers: readonly ContainerStatus[],
): { reason: PodReason; message?: string } | null {
  const initializing = init.some((s) => !(s.state.terminated?.exitCode === 0));
  if (initializing && phase !== "Running") {
    for (const s of init) {
      const t = s.state.terminated;
      if (t?.exitCode === 0) continue;
      if (t) return withMessage(known(`Init:${t.reason}`) ?? "Init:Error");
      const w = s.state.waiting;
      if (w && w.reason !== "PodInitializing" && w.reason !== "ContainerCreating")
        return withMessage(known(`Init:${w.reason}`) ?? "PodInitializing", w.message);
      return { reason: "PodInitializing" };
    }
  }
  let found: { reason: PodReason; message?: string } | null = null;
  for (const s of containers) {
    const w = s.state.waiting;
    const t = s.state.terminated;
    if (w) {
      const r = known(w.reason);
      if (r && (found === null || found.reason === "ContainerCreating")) found = withMessage(r, w.message);
    } else if (t && found === null && phase !== "Running") found = withMessage(known(t.reason) ?? "Error");
  }
  return found;
}

function withMessage(reason: PodReason, message?: string): { reason: PodReason; message?: string } {
  return message ? { reason, message } : { reason };
}
