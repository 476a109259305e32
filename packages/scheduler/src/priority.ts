import { SchedulerInputError } from "./errors";
import type { PreemptionPolicy } from "./types";

/** Kubernetes' PriorityClass (scheduling.k8s.io/v1), as the control plane stores it. */
export interface PriorityClass {
  name: string;
  /** Higher schedules first and may preempt lower. A 32-bit integer. */
  value: number;
  /** The class of pods that name none. */
  globalDefault?: boolean;
  /** PreemptLowerPriority (default) or Never. */
  preemptionPolicy?: PreemptionPolicy;
}

export interface ResolvedPriority {
  priority: number;
  preemptionPolicy: PreemptionPolicy;
  /** The class applied, or undefined when none exists and the pod gets 0. */
  priorityClassName: string | undefined;
}

/**
 * What kube's Priority admission plugin does with a pod's `priorityClassName`: the named class's
 * value and preemptionPolicy; with no name, the globalDefault class (the lowest value if several
 * claim it), else priority 0 and PreemptLowerPriority. The control plane calls this when a pod is
 * created and stores the outcome on the pod (`PendingPod.priority`, `preemptionPolicy`), so a
 * class changed later does not change pods that exist. A name no class has is the tenant's
 * mistake, returned as `{ error }` (kube rejects such a pod with that text); a class whose value is
 * not a 32-bit integer is the control plane's, thrown as `SchedulerInputError`.
 */
export function resolvePriority(
  classes: readonly PriorityClass[],
  priorityClassName: string | undefined,
): ResolvedPriority | { error: string } {
  let chosen: PriorityClass | undefined;
  if (priorityClassName) {
    chosen = classes.find((c) => c.name === priorityClassName);
    if (!chosen) return { error: `no PriorityClass with name ${priorityClassName} was found` };
  } else {
    for (const c of classes) if (c.globalDefault && (!chosen || c.value < chosen.value)) chosen = c;
  }
  if (chosen && !(Number.isSafeInteger(chosen.value) && Math.abs(chosen.value) <= 2 ** 31)) {
    throw new SchedulerInputError(`PriorityClass ${chosen.name}: value must be a 32-bit integer`);
  }
  return {
    priority: chosen?.value ?? 0,
    preemptionPolicy: chosen?.preemptionPolicy ?? "PreemptLowerPriority",
    priorityClassName: chosen?.name,
  };
}
