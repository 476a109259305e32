export { canonicalNodeOrder } from "./cluster-state";
export { budgetCovers, type DisruptionBudgetSpec, disruptionsAllowed, type IntOrPercent } from "./disruption";
export { SchedulerInputError } from "./errors";
export type {
  ClusterView,
  FilterPlugin,
  NodeFilter,
  NodeInfo,
  NodeScorer,
  Rejection,
  ScorePlugin,
} from "./framework";
export { NON_ZERO_DEFAULTS } from "./framework";
export { HOSTNAME_LABEL } from "./labels";
export {
  balancedAllocation,
  builtInFilters,
  defaultScorers,
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
} from "./plugins/index";
export type { ScoredResource, ScoringStrategy, UtilizationShapePoint } from "./plugins/resource-allocation";
export { NO_ATTACHABLE_DISKS, VOLUME_NODE_CONFLICT } from "./plugins/volume-binding";
export type { PriorityClass, ResolvedPriority } from "./priority";
export { resolvePriority } from "./priority";
export { schedulingOrder } from "./queue";
export { feasibleNodesToFind } from "./sampling";
export { type ScheduleOptions, schedule } from "./schedule";
export { explain } from "./summary";
export type {
  Affinity,
  BoundPod,
  DisruptionBudget,
  LabelSelector,
  LabelSelectorRequirement,
  NamespaceState,
  NodeAffinity,
  NodeSelector,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  NodeState,
  PendingPod,
  Placement,
  Plan,
  PodAffinity,
  PodAffinityTerm,
  PodVolumeClaim,
  Preemption,
  PreemptionPolicy,
  PreferredSchedulingTerm,
  Resources,
  ScheduleRequest,
  Snapshot,
  Taint,
  TaintEffect,
  Toleration,
  TopologySpreadConstraint,
  Unschedulable,
  WeightedPodAffinityTerm,
} from "./types";
