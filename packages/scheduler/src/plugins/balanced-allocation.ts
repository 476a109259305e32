import type { ScorePlugin } from "../framework";
import { NON_ZERO_DEFAULTS } from "../framework";
import { intDiv, ratio } from "../int";

const SCALE = 10_000;

/** Fraction of `whole` in use, in 1/10,000ths, capped at 1; a resource the node lacks counts as full. */
function used(part: number, whole: number): number {
  return whole <= 0 ? SCALE : ratio(part, whole, SCALE);
}

/**
 * Prefers nodes whose cpu and memory would be used in the same proportion, so neither is
 * stranded: 100 · (1 − |cpu fraction − memory fraction| / 2), i.e. 100 when balanced, 50 at worst.
 */
export const balancedAllocation: ScorePlugin = {
  name: "BalancedAllocation",
  weight: 1,
  podKey: (pod) => `${pod.requests.cpuMillis}/${pod.requests.memoryBytes}`,
  prepare(pod) {
    const cpu = pod.requests.cpuMillis || NON_ZERO_DEFAULTS.cpuMillis;
    const memory = pod.requests.memoryBytes || NON_ZERO_DEFAULTS.memoryBytes;
    return (info) => {
      const diff = Math.abs(
        used(info.nonZeroCpu + cpu, info.allocatableCpu) -
          used(info.nonZeroMemory + memory, info.allocatableMemory),
      );
      return intDiv(2 * SCALE - diff, (2 * SCALE) / 100);
    };
  },
};
