export { canonicalNodeOrder } from "./cluster-state";
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
export {
  balancedAllocation,
  builtInFilters,
  defaultScorers,
  hostPorts,
  leastAllocated,
  nodeReady,
  nodeResourcesFit,
  nodeSelector,
  nodeUnschedulable,
  spreadOwner,
  taintPreferNoSchedule,
  taintToleration,
} from "./plugins/index";
export { schedulingOrder } from "./queue";
export { feasibleNodesToFind } from "./sampling";
export { type ScheduleOptions, schedule } from "./schedule";
export { explain } from "./summary";
export type {
  BoundPod,
  NodeState,
  PendingPod,
  Placement,
  Plan,
  Resources,
  ScheduleRequest,
  Snapshot,
  Taint,
  TaintEffect,
  Toleration,
  Unschedulable,
} from "./types";
