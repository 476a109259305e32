import type { PodPhase } from "@berth/db";
import { removalRank } from "./pod-state";

/**
 * The deployment controller's arithmetic, as Kubernetes' deployment controller does it (rolling.go,
 * recreate.go, sync.go), pure so that it is tested on its own. Kubernetes scales ReplicaSets and
 * lets the ReplicaSet controller pick pods; Berth's pods of one template hash are that ReplicaSet,
 * so a plan names the pods to remove and how many of which template to create. Called again on
 * every pass until nothing is left to do.
 */
export interface PlanPod {
  id: string;
  /** Its template's hash (its ReplicaSet). */
  hash: string;
  /** The revision of that template; older ReplicaSets are scaled down first. */
  revision: number;
  /** Ready for minReadySeconds. */
  available: boolean;
  nodeId: string | null;
  phase: PodPhase;
  ready: boolean;
  restarts: number;
  seq: number;
}

export interface Plan {
  /** How many pods of `createHash`'s template to create. */
  create: number;
  createHash: string | null;
  remove: string[];
}

/** `"25%"` of 10 → 3 rounding up (surge) or 2 rounding down (unavailable); an integer is itself. */
export function resolveIntOrPercent(value: number | string, total: number, roundUp: boolean): number {
  if (typeof value === "number") return value;
  const scaled = Number(value.slice(0, -1)) * total;
  return roundUp ? Math.ceil(scaled / 100) : Math.floor(scaled / 100);
}

/**
 * Kubernetes' ResolveFenceposts: maxSurge rounds up, maxUnavailable down; when both come to zero
 * (a percentage rounded down), one pod may be unavailable.
 */
export function resolveFenceposts(
  maxSurge: number | string,
  maxUnavailable: number | string,
  replicas: number,
): { surge: number; unavailable: number } {
  const surge = resolveIntOrPercent(maxSurge, replicas, true);
  const unavailable = resolveIntOrPercent(maxUnavailable, replicas, false);
  return surge === 0 && unavailable === 0 ? { surge, unavailable: 1 } : { surge, unavailable };
}

/** Older ReplicaSets first, then each one's pods in the order its controller gives them up. */
const oldFirst = (a: PlanPod, b: PlanPod): number => a.revision - b.revision || removalRank(a, b);

/**
 * One step of a rolling update over the active pods (not terminating, not finished): scale the new
 * ReplicaSet up within `replicas + surge` pods, then scale old ones down — their unavailable pods
 * first, then available ones only while `replicas - unavailable` pods stay available.
 */
export function planRolling(
  spec: { replicas: number; hash: string; surge: number; unavailable: number },
  active: readonly PlanPod[],
): Plan {
  const fresh = active.filter((p) => p.hash === spec.hash);
  const old = active.filter((p) => p.hash !== spec.hash);
  const remove: PlanPod[] = [];
  let create = 0;

  // reconcileNewReplicaSet
  if (fresh.length > spec.replicas)
    remove.push(...[...fresh].sort(removalRank).slice(0, fresh.length - spec.replicas));
  else if (fresh.length < spec.replicas) {
    const maxTotal = spec.replicas + spec.surge;
    if (active.length < maxTotal) create = Math.min(maxTotal - active.length, spec.replicas - fresh.length);
  }

  // reconcileOldReplicaSets
  if (old.length > 0) {
    const kept = fresh.filter((p) => !remove.includes(p));
    const allCount = active.length - remove.length + create;
    const minAvailable = spec.replicas - spec.unavailable;
    const newUnavailable = kept.length + create - kept.filter((p) => p.available).length;
    const maxScaledDown = allCount - minAvailable - newUnavailable;
    if (maxScaledDown > 0) {
      const ordered = [...old].sort(oldFirst);
      // cleanupUnhealthyReplicas: unavailable old pods go first, within maxScaledDown.
      const unhealthy = ordered.filter((p) => !p.available).slice(0, maxScaledDown);
      remove.push(...unhealthy);
      // scaleDownOldReplicaSetsForRollingUpdate: never below minAvailable available pods.
      const available = active.filter((p) => p.available && !remove.includes(p)).length;
      const more = available - minAvailable;
      if (more > 0) remove.push(...ordered.filter((p) => !remove.includes(p)).slice(0, more));
    }
  }
  return { create, createHash: create > 0 ? spec.hash : null, remove: remove.map((p) => p.id) };
}

/**
 * One step of a Recreate rollout: every old pod is removed, and the new template's pods are only
 * created once no old pod is left running (`oldRunning`: old pods still stopping on their node).
 */
export function planRecreate(
  spec: { replicas: number; hash: string },
  active: readonly PlanPod[],
  oldRunning: boolean,
): Plan {
  const old = active.filter((p) => p.hash !== spec.hash);
  if (old.length > 0) return { create: 0, createHash: null, remove: old.map((p) => p.id) };
  if (oldRunning) return { create: 0, createHash: null, remove: [] };
  return scaleTo(spec.replicas, spec.hash, active);
}

/**
 * A paused deployment only scales (Kubernetes' `sync`): no new ReplicaSet is made; missing pods
 * are created from the ReplicaSet with the most active pods (the newest on a tie, or `latest`
 * when none has any), extra pods are removed from the oldest ReplicaSets first.
 */
export function planScale(replicas: number, latest: string | null, active: readonly PlanPod[]): Plan {
  if (active.length > replicas)
    return {
      create: 0,
      createHash: null,
      remove: [...active]
        .sort(oldFirst)
        .slice(0, active.length - replicas)
        .map((p) => p.id),
    };
  if (active.length === replicas) return { create: 0, createHash: null, remove: [] };
  const counts = new Map<string, { n: number; revision: number }>();
  for (const p of active) {
    const c = counts.get(p.hash) ?? { n: 0, revision: p.revision };
    counts.set(p.hash, { n: c.n + 1, revision: c.revision });
  }
  const busiest = [...counts.entries()].sort((a, b) => b[1].n - a[1].n || b[1].revision - a[1].revision)[0];
  const hash = busiest?.[0] ?? latest;
  return hash
    ? { create: replicas - active.length, createHash: hash, remove: [] }
    : { create: 0, createHash: null, remove: [] };
}

/** The new template's pods brought to exactly `replicas`. */
function scaleTo(replicas: number, hash: string, active: readonly PlanPod[]): Plan {
  const fresh = active.filter((p) => p.hash === hash);
  if (fresh.length < replicas) return { create: replicas - fresh.length, createHash: hash, remove: [] };
  return {
    create: 0,
    createHash: null,
    remove: [...fresh]
      .sort(removalRank)
      .slice(0, fresh.length - replicas)
      .map((p) => p.id),
  };
}
