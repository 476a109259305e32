/**
 * Measured usage: what a pod actually used (not what it asked for), per pod and per interval, as
 * the node agents sampled it. It is the input the metering of measured usage bills from:
 *
 * - `cpuNanoseconds`: CPU time used within the interval, over all the pod's containers
 *   (cpu-seconds = cpuNanoseconds / 10⁹);
 * - `memoryByteSeconds`: the pod's memory working set integrated over the interval, each sample's
 *   working set times its window, in whole byte-seconds (GiB-seconds = memoryByteSeconds / 2³⁰).
 *
 * Both are exact integers, summed exactly; an interval is one hour (`[start, end)`), complete once
 * its hour has been rolled up. Time a pod ran without being sampled (its node cut off for longer
 * than the agent keeps samples) is not measured: it is never billed as measured usage.
 */
export interface MeasuredUsage {
  readonly clusterId: string;
  readonly podId: string;
  /** The controller that owned the pod (a Deployment's id), if any. */
  readonly ownerId: string | null;
  /** RFC 3339; the interval is [start, end). */
  readonly start: string;
  readonly end: string;
  readonly cpuNanoseconds: bigint;
  readonly memoryByteSeconds: bigint;
  /** How much of the interval samples covered, in milliseconds. */
  readonly sampledMs: number;
}

export const NANOSECONDS_PER_CPU_SECOND = 1_000_000_000n;
export const BYTES_PER_GIB = 1n << 30n;

/** An exact decimal of `n / unit` with `digits` decimals, truncated (for display, never for sums). */
export function exactRatio(n: bigint, unit: bigint, digits = 6): string {
  const sign = n < 0n ? "-" : "";
  const a = n < 0n ? -n : n;
  const whole = a / unit;
  const scale = 10n ** BigInt(digits);
  const frac = ((a % unit) * scale) / unit;
  return digits === 0 ? `${sign}${whole}` : `${sign}${whole}.${frac.toString().padStart(digits, "0")}`;
}
