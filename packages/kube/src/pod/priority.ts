import { BerthError } from "@berth/core";

/** A PriorityClass as pod admission needs it. */
export interface PriorityClassRef {
  name: string;
  value: number;
  globalDefault: boolean;
  preemptionPolicy: "PreemptLowerPriority" | "Never";
}

export interface AdmittedPriority {
  priority: number;
  /** Set when a class applied: the one named, or the global default. */
  priorityClassName?: string;
  preemptionPolicy?: "PreemptLowerPriority" | "Never";
}

function forbidden(path: string, message: string): never {
  throw new BerthError("FORBIDDEN", `${path}: ${message}`, { details: { issues: [{ path, message }] } });
}

/**
 * Kubernetes' Priority admission: `priorityClassName` names one of the cluster's classes, whose
 * value and preemptionPolicy the pod gets (an unknown name is refused, in kube's words); without a
 * name the globalDefault class applies (the lowest, if several). A `priority` or
 * `preemptionPolicy` written beside a class must be the class's. Berth's shorthand: `priority`
 * without a class name is kept as given, ahead of the global default.
 */
export function admitPriority(
  spec: {
    priorityClassName?: string;
    priority?: number;
    preemptionPolicy?: "PreemptLowerPriority" | "Never";
  },
  classes: readonly PriorityClassRef[],
  at: string,
): AdmittedPriority {
  let chosen: PriorityClassRef | undefined;
  if (spec.priorityClassName !== undefined) {
    chosen = classes.find((c) => c.name === spec.priorityClassName);
    if (!chosen)
      forbidden(`${at}.priorityClassName`, `no PriorityClass with name ${spec.priorityClassName} was found`);
  } else if (spec.priority === undefined) {
    for (const c of classes) if (c.globalDefault && (!chosen || c.value < chosen.value)) chosen = c;
  }
  if (!chosen) {
    if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== "PreemptLowerPriority")
      return { priority: spec.priority ?? 0, preemptionPolicy: spec.preemptionPolicy };
    return { priority: spec.priority ?? 0 };
  }
  if (spec.priority !== undefined && spec.priority !== chosen.value)
    forbidden(
      `${at}.priority`,
      `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${chosen.value} from the given PriorityClass name`,
    );
  if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== chosen.preemptionPolicy)
    forbidden(
      `${at}.preemptionPolicy`,
      `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${chosen.preemptionPolicy} from the given PriorityClass name`,
    );
  return {
    priority: chosen.value,
    priorityClassName: chosen.name,
    preemptionPolicy: chosen.preemptionPolicy,
  };
}
