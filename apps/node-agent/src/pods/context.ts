import type { Logger } from "@berth/core";
import type { Assignment, PodEvent } from "@berth/protocol";
import type { PodFailure } from "../pod-failures";
import type { NodeIdentity } from "../pod-spec";
import type { ProbeStates } from "../probes/handover";
import type { ProbeSet } from "../probes/worker";
import type { ContainerInfo, ContainerNetwork, ContainerRuntime } from "../runtime";
import type { PodVolumes } from "../volumes/pod-volumes";
import type { Backoff } from "./backoff";
import type { EventLog } from "./events";
import type { ImagePuller } from "./images";

/** What the agent knows of one container of a pod beyond what the engine says. */
export interface ContainerMemo {
  /** Why it is not running, when the agent knows (ErrImagePull, CrashLoopBackOff, …). */
  waiting: { reason: string; message?: string } | null;
  pullFailures: number;
  /** Failed creates or starts in a row. */
  attempts: number;
  /** No new attempt before this instant (pull or create back-off). */
  notBefore: number;
  /** The probes of the running instance, and which instance that is. */
  probes: ProbeSet | null;
  probesFor: string | null;
  /** The instance whose postStart hook still runs. */
  postStartFor: string | null;
  /** An instance killed (liveness, startup, postStart) to be restarted whatever its exit code. */
  restartAfterKill: string | null;
  /** The instance whose back-off was already announced (one BackOff event per wait). */
  backOffNotedFor: string | null;
}

/** What the agent knows of one pod. */
export interface PodRecord {
  podId: string;
  /** The pod's engine containers (every instance), as last listed. */
  containers: ContainerInfo[];
  /** The look `containers` came from: its number and time (looks.ts). */
  lookedSeq: number;
  lookedAt: number;
  /** The number of the latest start or end of work of the agent that may change the pod's containers. */
  changedSeq: number;
  /** That work running now: runtime calls of its steps, work detached from them. */
  working: number;
  memos: Map<string, ContainerMemo>;
  /** Trouble of the whole pod (its volumes), said as ContainerCreating with the reason. */
  failure: PodFailure | null;
  /** No new attempt of the pod's volumes before this instant. */
  notBefore: number;
  /** Set when the pod was evicted (ephemeral storage): its containers go and stay gone. */
  evicted: string | null;
  /** Kills in flight, by instance id (a second kill of the same instance waits for the first). */
  killing: Map<string, Promise<void>>;
  /** The whole pod is being stopped and removed. */
  terminating: boolean;
  /** The instances and states last seen, to tell when the engine changed something. */
  fingerprint: string;
  /** When to work on it again (the earliest back-off end), and its timer. */
  wakeAt: number;
  timer: NodeJS.Timeout | null;
  /** Its completion was announced (one Completed event). */
  completed: boolean;
  /** No new attempt at its sandbox before this instant (sandbox.ts). */
  sandboxNotBefore?: number;
  /** Why its sandbox could not be made, until it is (said as ContainerCreating, like `failure`). */
  sandboxFailure?: PodFailure | null;
  /** The dead sandbox whose SandboxChanged event was given. */
  sandboxChangeNoted?: string;
}

/** What the agent knows of a pod it has only just heard of. */
export function newRecord(podId: string): PodRecord {
  return {
    podId,
    containers: [],
    lookedSeq: 0,
    lookedAt: Number.NEGATIVE_INFINITY,
    changedSeq: 0,
    working: 0,
    memos: new Map(),
    failure: null,
    notBefore: 0,
    evicted: null,
    killing: new Map(),
    terminating: false,
    fingerprint: "",
    wakeAt: 0,
    timer: null,
    completed: false,
  };
}

export interface PodContext {
  runtime: ContainerRuntime;
  identity: NodeIdentity;
  publishAddress: string;
  logger: Logger;
  events: EventLog;
  images: ImagePuller;
  volumes: PodVolumes;
  backoff: Backoff;
  /** Seconds a container without a template (an orphan) gets to stop. */
  stopTimeoutSeconds: number;
  now: () => number;
  enqueue: (podId: string) => void;
  /** Work on the pod again at `at` (the earliest of such requests wins). */
  wake: (rec: PodRecord, at: number) => void;
  changed: () => void;
  /** Probe states handed over by the agent before this one, by container id (taken once used). */
  inheritedProbes: ProbeStates;
  /** Runs `fn` outside the pod's work queue slot; the pod gets work when it ends. */
  detach: (podId: string, what: string, fn: () => Promise<void>) => void;
  /**
   * The network a new container of a pod in `namespace` joins and the service variables it gets
   * (Kubernetes': those of the services that exist when it starts); undefined: the engine's default.
   */
  podNetwork: (
    namespace: string,
  ) => Promise<{ network: ContainerNetwork; env: Record<string, string> } | undefined>;
}

export function newMemo(): ContainerMemo {
  return {
    waiting: null,
    pullFailures: 0,
    attempts: 0,
    notBefore: 0,
    probes: null,
    probesFor: null,
    postStartFor: null,
    restartAfterKill: null,
    backOffNotedFor: null,
  };
}

export function memoOf(rec: PodRecord, name: string): ContainerMemo {
  let m = rec.memos.get(name);
  if (!m) {
    m = newMemo();
    rec.memos.set(name, m);
  }
  return m;
}

/** Kubelet's `format.Pod`: `name_namespace(uid)`. */
export const podRef = (a: Pick<Assignment, "name" | "namespace" | "podId">): string =>
  `${a.name}_${a.namespace}(${a.podId})`;

export type EmitEvent = (type: PodEvent["type"], reason: PodEvent["reason"], message: string) => void;
