import type { ScorePlugin } from "../framework";
import { NON_ZERO_DEFAULTS } from "../framework";
import { intDiv, ratio } from "../int";

const SCALE = 10_000;

/**
 * Prefers nodes whose cpu and memory would be used in the same proportion, so neither is
 * stranded: 100 · (1 − |cpu fraction − memory fraction| / 2), each fraction capped at 1, i.e. 100
 * when balanced, 50 at worst. A resource the node lacks is left out, as kube does: with one
 * fraction left there is nothing to balance, and the node scores 100.
 */
export const balancedAllocation: ScorePlugin = {
  name: "BalancedAllocation",
  weight: 1,
  podKey: (pod) => `${pod.requests.cpuMillis}/${pod.requests.memoryBytes}`,
  prepare(pod) {
    const cpu = pod.requests.cpuMillis || NON_ZERO_DEFAULTS.cpuMillis;
    const memory = pod.requests.memoryBytes || NON_ZERO_DEFAULTS.memoryBytes;
    return (info) => {
      if (info.allocatableCpu <= 0 || info.allocatableMemory <= 0) return 100;
      const diff = Math.abs(
        ratio(info.nonZeroCpu + cpu, info.allocatableCpu, SCALE) -
          ratio(info.nonZeroMemory + memory, info.allocatableMemory, SCALE),
      );
      return intDiv(2 * SCALE - diff, (2 * SCALE) / 100);
    };
  },
};
