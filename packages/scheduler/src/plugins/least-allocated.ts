import { resourceAllocation } from "./resource-allocation";

/**
 * The default scoring strategy: prefers the node with the most capacity left after the pod
 * lands, per resource ⌊100 · free / allocatable⌋, averaged over cpu and memory. Spreads load;
 * zero requests count as `NON_ZERO_DEFAULTS`.
 */
export const leastAllocated = resourceAllocation({ type: "LeastAllocated" });
