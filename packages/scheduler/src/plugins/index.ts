import type { FilterPlugin, ScorePlugin } from "../framework";
import { balancedAllocation } from "./balanced-allocation";
import { hostPorts } from "./host-ports";
import { leastAllocated } from "./least-allocated";
import { nodeReady } from "./node-ready";
import { nodeResourcesFit } from "./node-resources-fit";
import { nodeSelector } from "./node-selector";
import { nodeUnschedulable } from "./node-unschedulable";
import { spreadOwner } from "./spread-owner";
import { taintPreferNoSchedule } from "./taint-prefer-no-schedule";
import { taintToleration } from "./taint-toleration";

/**
 * The built-in filters, in the order they run; a node is reported under the first that rejects it.
 * Cheap node-only checks first, capacity last. They always run: they are what keeps a plan safe.
 */
export const builtInFilters: readonly FilterPlugin[] = [
  nodeReady,
  nodeUnschedulable,
  nodeSelector,
  taintToleration,
  hostPorts,
  nodeResourcesFit,
];

export const defaultScorers: readonly ScorePlugin[] = [
  leastAllocated,
  balancedAllocation,
  spreadOwner,
  taintPreferNoSchedule,
];

export {
  balancedAllocation,
  hostPorts,
  leastAllocated,
  nodeReady,
  nodeResourcesFit,
  nodeSelector,
  nodeUnschedulable,
  spreadOwner,
  taintPreferNoSchedule,
  taintToleration,
};
