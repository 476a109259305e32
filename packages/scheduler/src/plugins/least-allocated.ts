import type { ScorePlugin } from "../framework";
import { NON_ZERO_DEFAULTS } from "../framework";
import { intDiv, ratio } from "../int";

/**
 * Prefers the node with the most capacity left after the pod lands: per resource
 * ⌊100 · free / allocatable⌋, averaged over cpu and memory. Spreads load; zero requests count as
 * `NON_ZERO_DEFAULTS`.
 */
export const leastAllocated: ScorePlugin = {
  name: "LeastAllocated",
  weight: 1,
  prepare(pod) {
    const cpu = pod.requests.cpuMillis || NON_ZERO_DEFAULTS.cpuMillis;
    const memory = pod.requests.memoryBytes || NON_ZERO_DEFAULTS.memoryBytes;
    return (info) => {
      const { cpuMillis, memoryBytes } = info.node.capacity;
      const cpuScore = ratio(cpuMillis - info.nonZeroCpu - cpu, cpuMillis, 100);
      const memoryScore = ratio(memoryBytes - info.nonZeroMemory - memory, memoryBytes, 100);
      return intDiv(cpuScore + memoryScore, 2);
    };
  },
};
