/**
 * The deployment controller's arithmetic, in the manner of Kubernetes' rolling update: pure, so it
 * is tested on its own. Given a deployment and its live pods, how many pods to create and which to
 * remove this round. It is called again whenever anything changes until nothing is left to do.
 */
export interface RolloutSpec {
  replicas: number;
  templateHash: string;
  maxSurge: number | string;
  maxUnavailable: number | string;
}

export interface LivePod {
  id: string;
  templateHash: string;
  ready: boolean;
  scheduled: boolean;
  seq: number;
}

export interface RolloutStep {
  create: number;
  remove: string[];
}

/** `"25%"` of 10 → 3 rounding up (surge) or 2 rounding down (unavailable); an integer is itself. */
export function resolveIntOrPercent(value: number | string, total: number, roundUp: boolean): number {
  if (typeof value === "number") return value;
  const percent = Number(value.slice(0, -1));
  const scaled = percent * total;
  return roundUp ? Math.ceil(scaled / 100) : Math.floor(scaled / 100);
}

/** Which pods to give up first: unscheduled, then not ready, then the newest. */
function removalOrder(a: LivePod, b: LivePod): number {
  if (a.scheduled !== b.scheduled) return a.scheduled ? 1 : -1;
  if (a.ready !== b.ready) return a.ready ? 1 : -1;
  return b.seq - a.seq;
}

export function planRollout(spec: RolloutSpec, pods: readonly LivePod[]): RolloutStep {
  const current = pods.filter((p) => p.templateHash === spec.templateHash);
  const old = pods.filter((p) => p.templateHash !== spec.templateHash);
  const remove: string[] = [];

  if (current.length > spec.replicas)
    remove.push(
      ...[...current]
        .sort(removalOrder)
        .slice(0, current.length - spec.replicas)
        .map((p) => p.id),
    );
  if (old.length === 0) return { create: Math.max(0, spec.replicas - current.length), remove };

  let maxSurge = resolveIntOrPercent(spec.maxSurge, spec.replicas, true);
  const maxUnavailable = resolveIntOrPercent(spec.maxUnavailable, spec.replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxSurge = 1;

  const create = Math.max(
    0,
    Math.min(spec.replicas - current.length, spec.replicas + maxSurge - pods.length),
  );
  // Old pods that are not ready add nothing to availability: they can always go.
  const oldSorted = [...old].sort(removalOrder);
  const readyTotal = pods.filter((p) => p.ready).length;
  let canRemoveReady = readyTotal - (spec.replicas - maxUnavailable);
  for (const p of oldSorted) {
    if (!p.ready) remove.push(p.id);
    else if (canRemoveReady > 0) {
      remove.push(p.id);
      canRemoveReady--;
    }
  }
  return { create, remove };
}
