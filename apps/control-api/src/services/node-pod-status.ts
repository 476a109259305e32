/**
 * A pod's status as its node reports it, applied to the pod's row the way the API server stores
 * kubelet's status updates: phase (Running opens the pod's meters, Succeeded or Failed closes them;
 * a finished pod never runs again), readiness and when it began, restarts, the containers'
 * Kubernetes-shaped statuses, kubectl's reason, and the pod conditions kubelet computes
 * (PodScheduled, Initialized, ContainersReady, Ready) with their transition times.
 */
import {
  type Condition,
  closeMeters,
  openMeter,
  podBilledResources,
  type pods,
  recordEvent,
  type Tx,
} from "@berth/db";
import type { ContainerStatus, PodEvent, PodReport } from "@berth/protocol";

type PodRow = typeof pods.$inferSelect;
type PodPatch = Partial<typeof pods.$inferInsert>;

const isTerminal = (phase: string) => phase === "Succeeded" || phase === "Failed";

/** What changes on the pod's row for this report (empty when nothing does). */
export async function podPatch(
  tx: Tx,
  pod: PodRow,
  r: PodReport,
  now: Date,
  opts: { keepReason: boolean },
): Promise<PodPatch> {
  if (r.state === "failed" && r.reason === "Evicted") {
    // Terminal, as kubelet's evictions are: the pod fails, its controller replaces it.
    await closeMeters(tx, pod.id, now);
    const event = {
      tenantId: pod.tenantId,
      clusterId: pod.clusterId,
      objectKind: "Pod",
      objectName: pod.name,
      ...involved(pod),
      type: "Warning" as const,
      reason: "Evicted",
      message: r.message ?? "evicted by its node",
    };
    await recordEvent(tx, event);
    return {
      phase: "Failed",
      ready: false,
      readyAt: null,
      reason: "Evicted",
      message: r.message ?? null,
      stoppedAt: now,
      conditions: conditionsOf(pod, pod.initContainerStatuses, pod.containerStatuses, "Failed", false, now),
    };
  }
  if (r.state === "gone") return {};
  const patch: PodPatch = {};
  // A finished pod stays finished, whatever its node says later (kubelet's rule).
  const phase = isTerminal(pod.phase)
    ? pod.phase
    : (r.phase ?? (r.state === "running" ? "Running" : pod.phase));
  if (phase !== pod.phase) {
    patch.phase = phase;
    if (phase === "Running") {
      patch.startedAt = pod.startedAt ?? now;
      const meter = {
        tenantId: pod.tenantId,
        clusterId: pod.clusterId,
        subjectId: pod.id,
        at: now,
        namespace: pod.namespace,
        labels: pod.labels,
      };
      // Billed on what the pod may take (its limits), not only on what it reserved.
      const billed = podBilledResources(pod.template);
      await openMeter(tx, { ...meter, meter: "pod_vcpu_seconds", rate: BigInt(billed.cpuMillis) });
      await openMeter(tx, { ...meter, meter: "pod_memory_gib_seconds", rate: BigInt(billed.memoryBytes) });
    }
    if (isTerminal(phase)) {
      patch.stoppedAt = now;
      await closeMeters(tx, pod.id, now);
    }
  }
  if (!opts.keepReason) {
    const [reason, message] = reasonOf(r);
    if (pod.reason !== reason || pod.message !== message) {
      patch.reason = reason;
      patch.message = message;
    }
  }
  const ready = phase === "Running" && r.state === "running" && r.ready;
  if (ready !== pod.ready) {
    patch.ready = ready;
    patch.readyAt = ready ? now : null;
  }
  if (r.restarts > pod.restarts) patch.restarts = r.restarts;
  // Kept once known (as Kubernetes keeps it after the pod ends); a new one when its node says so.
  if (r.podIP !== undefined && r.podIP !== pod.podIp) patch.podIp = r.podIP;
  const containers = r.containers ?? pod.containerStatuses;
  const init = r.initContainers ?? pod.initContainerStatuses;
  if (r.containers && !sameJson(r.containers, pod.containerStatuses)) patch.containerStatuses = r.containers;
  if (r.initContainers && !sameJson(r.initContainers, pod.initContainerStatuses))
    patch.initContainerStatuses = r.initContainers;
  const conditions = conditionsOf(pod, init, containers, phase, ready, now);
  if (!sameJson(conditions, pod.conditions)) patch.conditions = conditions;
  return patch;
}

/** The reason and message the pod's row shows; reports of older agents without a phase keep their rules. */
function reasonOf(r: PodReport): [string | null, string | null] {
  if (r.phase !== undefined) return [r.reason ?? null, r.message ?? null];
  if (r.state === "running") return [null, null];
  if (r.state === "creating") return [r.reason ?? "ContainerCreating", r.message ?? null];
  if (r.state === "failed") return [r.reason ?? "ContainerFailed", r.message ?? null];
  return [r.reason ?? null, r.message ?? null];
}

/** The pod's involvedObject beyond its kind and name, and who saw it (Kubernetes' event source). */
export function involved(pod: Pick<PodRow, "namespace" | "id">, source?: string) {
  return { namespace: pod.namespace, objectUid: pod.id, ...(source ? { source } : {}) };
}

/** Records what the node saw happen to its pods as events on each Pod. */
export async function recordPodEvents(
  tx: Tx,
  byId: ReadonlyMap<string, PodRow>,
  events: readonly PodEvent[],
  nodeName: string,
): Promise<number> {
  let n = 0;
  for (const e of events) {
    const pod = byId.get(e.podId);
    if (!pod) continue;
    const input = {
      tenantId: pod.tenantId,
      clusterId: pod.clusterId,
      objectKind: "Pod",
      objectName: pod.name,
      ...involved(pod, nodeName),
      type: e.type,
      reason: e.reason,
      message: e.message,
    };
    await recordEvent(tx, input);
    n++;
  }
  return n;
}

const names = (list: readonly string[]) => `[${list.join(" ")}]`;

/**
 * Kubelet's pod conditions from its containers' statuses: PodScheduled (it is on a node),
 * Initialized (every init container exited 0, or a container already started), ContainersReady
 * and Ready (every container ready; PodCompleted once the pod succeeded). A condition's
 * lastTransitionTime moves only when its status flips.
 */
export function conditionsOf(
  pod: Pick<PodRow, "template" | "conditions" | "scheduledAt">,
  init: readonly ContainerStatus[],
  containers: readonly ContainerStatus[],
  phase: string,
  /** Whether the pod is ready, for reports that carry no container statuses (older agents). */
  podReady: boolean,
  now: Date,
): Condition[] {
  const initNames = (pod.template.initContainers ?? []).map((c) => c.name);
  const names_ = pod.template.containers.map((c) => c.name);
  const noStatuses = containers.length === 0 && init.length === 0;
  const status = (
    list: readonly ContainerStatus[],
    name: string,
  ): Pick<ContainerStatus, "ready"> | undefined =>
    noStatuses ? { ready: podReady } : list.find((s) => s.name === name);
  const anyStarted =
    (noStatuses && podReady) ||
    containers.some((s) => s.state.running || s.state.terminated || s.lastState.terminated);

  let initialized: Omit<Condition, "type" | "lastTransitionTime">;
  const unknownInit = noStatuses ? [] : initNames.filter((n) => !init.some((x) => x.name === n));
  const incomplete = initNames.filter((n) => {
    const s = init.find((x) => x.name === n);
    return s && !(s.state.terminated && s.state.terminated.exitCode === 0);
  });
  if (phase === "Succeeded" && unknownInit.length === 0)
    initialized = { status: "True", reason: "PodCompleted", message: "" };
  else if (anyStarted || (unknownInit.length === 0 && incomplete.length === 0))
    initialized = { status: "True", reason: "", message: "" };
  else
    initialized = {
      status: "False",
      reason: "ContainersNotInitialized",
      message: [
        ...(unknownInit.length > 0 ? [`containers with unknown status: ${names(unknownInit)}`] : []),
        ...(incomplete.length > 0 ? [`containers with incomplete status: ${names(incomplete)}`] : []),
      ].join(", "),
    };

  let ready: Omit<Condition, "type" | "lastTransitionTime">;
  const unknown = names_.filter((n) => !status(containers, n));
  const unready = names_.filter((n) => status(containers, n) && !status(containers, n)?.ready);
  if (phase === "Succeeded" && unknown.length === 0)
    ready = { status: "False", reason: "PodCompleted", message: "" };
  else if (unknown.length > 0 || unready.length > 0)
    ready = {
      status: "False",
      reason: "ContainersNotReady",
      message: [
        ...(unknown.length > 0 ? [`containers with unknown status: ${names(unknown)}`] : []),
        ...(unready.length > 0 ? [`containers with unready status: ${names(unready)}`] : []),
      ].join(", "),
    };
  else ready = { status: "True", reason: "", message: "" };

  const previous = new Map(pod.conditions.map((c) => [c.type, c]));
  const at = (type: string, s: Condition["status"], fallback: Date) => {
    const p = previous.get(type);
    return p && p.status === s ? p.lastTransitionTime : fallback.toISOString();
  };
  const scheduled = { status: "True" as const, reason: "", message: "" };
  return [
    {
      type: "PodScheduled",
      ...scheduled,
      lastTransitionTime: at("PodScheduled", "True", pod.scheduledAt ?? now),
    },
    { type: "Initialized", ...initialized, lastTransitionTime: at("Initialized", initialized.status, now) },
    { type: "ContainersReady", ...ready, lastTransitionTime: at("ContainersReady", ready.status, now) },
    { type: "Ready", ...ready, lastTransitionTime: at("Ready", ready.status, now) },
  ];
}

/** Equal as JSON values, whatever the order of object keys (jsonb does not keep it). */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}
