import type { FilterPlugin, ScorePlugin } from "../framework";
import { balancedAllocation } from "./balanced-allocation";
import { hostPorts } from "./host-ports";
import { interPodAffinity } from "./inter-pod-affinity";
import { interPodAffinityScore } from "./inter-pod-affinity-score";
import { leastAllocated } from "./least-allocated";
import { nodeAffinity } from "./node-affinity";
import { nodeAffinityScore } from "./node-affinity-score";
import { nodeReady } from "./node-ready";
import { nodeResourcesFit } from "./node-resources-fit";
import { nodeSelector } from "./node-selector";
import { nodeUnschedulable } from "./node-unschedulable";
import { podTopologySpread } from "./pod-topology-spread";
import { podTopologySpreadScore } from "./pod-topology-spread-score";
import { resourceAllocation } from "./resource-allocation";
import { spreadOwner } from "./spread-owner";
import { taintPreferNoSchedule } from "./taint-prefer-no-schedule";
import { taintToleration } from "./taint-toleration";
import { volumeBinding } from "./volume-binding";

/**
 * The built-in filters, in the order they run; a node is reported under the first that rejects it.
 * Cheap node-only checks first, capacity next, the filters that look at other nodes' pods last.
 * They always run: they are what keeps a plan safe.
 */
export const builtInFilters: readonly FilterPlugin[] = [
  nodeReady,
  nodeUnschedulable,
  nodeSelector,
  nodeAffinity,
  taintToleration,
  volumeBinding,
  hostPorts,
  nodeResourcesFit,
  podTopologySpread,
  interPodAffinity,
];

export const defaultScorers: readonly ScorePlugin[] = [
  leastAllocated,
  balancedAllocation,
  spreadOwner,
  taintPreferNoSchedule,
  nodeAffinityScore,
  podTopologySpreadScore,
  interPodAffinityScore,
];

export {
  balancedAllocation,
  hostPorts,
  interPodAffinity,
  interPodAffinityScore,
  leastAllocated,
  nodeAffinity,
  nodeAffinityScore,
  nodeReady,
  nodeResourcesFit,
  nodeSelector,
  nodeUnschedulable,
  podTopologySpread,
  podTopologySpreadScore,
  resourceAllocation,
  spreadOwner,
  taintPreferNoSchedule,
  taintToleration,
  volumeBinding,
};
