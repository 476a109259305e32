import type { FilterPlugin } from "../framework";
import type { Taint } from "../types";
import { isTolerated } from "./tolerations";

export function untoleratedTaint(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`;
}

/** Rejects nodes with a NoSchedule or NoExecute taint the pod does not tolerate (the first one is named). */
export const taintToleration: FilterPlugin = {
  name: "TaintToleration",
  static: true,
  podKey: (pod) =>
    JSON.stringify(
      (pod.tolerations ?? []).map((t) => [t.key, t.operator ?? "", t.value ?? "", t.effect ?? ""]),
    ),
  prepare(pod, cluster) {
    if (!cluster.hasTaintEffect("NoSchedule") && !cluster.hasTaintEffect("NoExecute")) return null;
    const tolerations = pod.tolerations ?? [];
    return (info) => {
      for (const taint of info.node.taints) {
        if (taint.effect === "PreferNoSchedule") continue;
        if (!isTolerated(tolerations, taint)) return untoleratedTaint(taint);
      }
      return null;
    };
  },
};
