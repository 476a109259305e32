import { SchedulerInputError } from "./errors";
import { isCount } from "./int";
import type { PendingPod, Resources, Snapshot } from "./types";

const MAX_PORT = 65_535;

function isPort(n: number | undefined): boolean {
  return isCount(n) && n <= MAX_PORT;
}

function checkResources(r: Resources | undefined, path: string): string | null {
  if (typeof r !== "object" || r === null) return `${path} is missing`;
  if (!isCount(r.cpuMillis)) return `${path}.cpuMillis must be a non-negative integer`;
  if (!isCount(r.memoryBytes)) return `${path}.memoryBytes must be a non-negative integer`;
  if (r.extended === undefined) return null;
  if (typeof r.extended !== "object" || r.extended === null) return `${path}.extended must be an object`;
  for (const [name, amount] of Object.entries(r.extended)) {
    if (!isCount(amount)) return `${path}.extended[${JSON.stringify(name)}] must be a non-negative integer`;
  }
  return null;
}

/** Throws `SchedulerInputError` for a snapshot whose numbers or ids would make the plan unsafe. */
export function assertValidSnapshot(snapshot: Snapshot): void {
  const ids = new Set<string>();
  for (const node of snapshot.nodes) {
    const where = `node ${JSON.stringify(node.id)}`;
    if (typeof node.id !== "string" || typeof node.name !== "string") {
      throw new SchedulerInputError(`${where}: id and name must be strings`);
    }
    if (ids.has(node.id)) throw new SchedulerInputError(`${where} appears twice in the snapshot`);
    ids.add(node.id);
    const problem = checkResources(node.capacity, "capacity");
    if (problem) throw new SchedulerInputError(`${where}: ${problem}`);
    if (!isCount(node.capacity.pods)) {
      throw new SchedulerInputError(`${where}: capacity.pods must be a non-negative integer`);
    }
    const range = node.hostPortRange;
    if (!isPort(range?.min) || !isPort(range?.max)) {
      throw new SchedulerInputError(`${where}: hostPortRange.min and max must be ports (0..65535)`);
    }
    const reserved = node.reservedHostPorts;
    if (reserved !== undefined && (!Array.isArray(reserved) || !reserved.every((p) => isPort(p)))) {
      throw new SchedulerInputError(`${where}: reservedHostPorts must be a list of ports (0..65535)`);
    }
  }
  for (const pod of snapshot.pods) {
    const problem = checkResources(pod.requests, "requests");
    if (problem) throw new SchedulerInputError(`bound pod ${JSON.stringify(pod.id)}: ${problem}`);
    if (pod.priority !== undefined && !Number.isSafeInteger(pod.priority)) {
      throw new SchedulerInputError(`bound pod ${JSON.stringify(pod.id)}: priority must be an integer`);
    }
  }
  for (const budget of snapshot.disruptionBudgets ?? []) {
    if (!Number.isSafeInteger(budget.disruptionsAllowed)) {
      throw new SchedulerInputError(
        `PodDisruptionBudget ${JSON.stringify(budget.name)}: disruptionsAllowed must be an integer`,
      );
    }
  }
}

/** Why a pending pod cannot even be considered, or null when its spec is usable. */
export function pendingPodProblem(pod: PendingPod): string | null {
  if (typeof pod.tenantId !== "string") return "tenantId must be a string";
  const problem = checkResources(pod.requests, "requests");
  if (problem) return problem;
  if (!isCount(pod.hostPortCount) || pod.hostPortCount > MAX_PORT + 1) {
    return "hostPortCount must be an integer from 0 to 65536";
  }
  if (!Number.isFinite(pod.priority)) return "priority must be a finite number";
  if (!Number.isFinite(pod.createdSeq)) return "createdSeq must be a finite number";
  return constraintProblem(pod);
}

function isWeight(n: unknown): boolean {
  return Number.isSafeInteger(n) && (n as number) >= 1 && (n as number) <= 100;
}

/** What kube's API validation would refuse in the pod's affinity and spread constraints. */
function constraintProblem(pod: PendingPod): string | null {
  for (const [i, c] of (pod.topologySpreadConstraints ?? []).entries()) {
    const at = `topologySpreadConstraints[${i}]`;
    if (!Number.isSafeInteger(c.maxSkew) || c.maxSkew < 1) return `${at}.maxSkew must be an integer ≥ 1`;
    if (typeof c.topologyKey !== "string" || c.topologyKey === "")
      return `${at}.topologyKey must not be empty`;
    if (c.whenUnsatisfiable !== "DoNotSchedule" && c.whenUnsatisfiable !== "ScheduleAnyway") {
      return `${at}.whenUnsatisfiable must be DoNotSchedule or ScheduleAnyway`;
    }
    if (c.minDomains !== undefined) {
      if (!Number.isSafeInteger(c.minDomains) || c.minDomains < 1)
        return `${at}.minDomains must be an integer ≥ 1`;
      if (c.whenUnsatisfiable !== "DoNotSchedule")
        return `${at}.minDomains needs whenUnsatisfiable DoNotSchedule`;
    }
  }
  const node = pod.affinity?.nodeAffinity;
  for (const [i, t] of (node?.preferredDuringSchedulingIgnoredDuringExecution ?? []).entries()) {
    if (!isWeight(t.weight)) return `nodeAffinity preferred term ${i}: weight must be an integer 1..100`;
  }
  const terms = [
    ...(pod.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
    ...(pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
  ];
  for (const weighted of [
    ...(pod.affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []),
    ...(pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []),
  ]) {
    if (!isWeight(weighted.weight)) return "pod (anti-)affinity preferred terms need a weight of 1..100";
    terms.push(weighted.podAffinityTerm);
  }
  for (const term of terms) {
    if (typeof term.topologyKey !== "string" || term.topologyKey === "") {
      return "pod (anti-)affinity terms need a topologyKey";
    }
  }
  if (
    pod.preemptionPolicy !== undefined &&
    pod.preemptionPolicy !== "PreemptLowerPriority" &&
    pod.preemptionPolicy !== "Never"
  ) {
    return "preemptionPolicy must be PreemptLowerPriority or Never";
  }
  return null;
}

export function assertUniquePendingIds(pending: readonly PendingPod[]): void {
  const ids = new Set<string>();
  for (const pod of pending) {
    if (ids.has(pod.id)) throw new SchedulerInputError(`pending pod ${JSON.stringify(pod.id)} appears twice`);
    ids.add(pod.id);
  }
}
