import { intDiv } from "./int";

const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE = 5;

/**
 * kube-scheduler's percentageOfNodesToScore: in a large cluster, stop filtering once this many
 * feasible nodes are found and score only those. Undefined or 0 → adaptive (50% at 0 nodes, minus
 * 1% per 125 nodes, at least 5%); ≥ 100 → every node. Never fewer than 100 nodes. Which nodes are
 * looked at is deterministic: the scan starts where the previous pod's stopped.
 */
export function feasibleNodesToFind(totalNodes: number, percentageOfNodesToScore?: number): number {
  if (totalNodes < MIN_FEASIBLE_NODES_TO_FIND) return totalNodes;
  let percentage = percentageOfNodesToScore ?? 0;
  if (percentage >= 100) return totalNodes;
  if (percentage <= 0) {
    percentage = Math.max(MIN_FEASIBLE_NODES_PERCENTAGE, 50 - intDiv(totalNodes, 125));
  }
  return Math.max(MIN_FEASIBLE_NODES_TO_FIND, intDiv(totalNodes * Math.floor(percentage), 100));
}
