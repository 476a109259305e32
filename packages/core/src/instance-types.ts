/**
 * Machine sizes a node pool can ask for: what a node of that size offers the scheduler, and what
 * an hour of it costs (nano-dollars, like every price). The same names for every provider; each
 * provider maps them to its own (EC2: t3.small, …). `extended`: the extended resources a node of
 * that size advertises (a GPU machine's `berth.dev/gpu`, as AKS GPU pools have them).
 */
export const INSTANCE_TYPES: Readonly<
  Record<
    "small" | "medium" | "large" | "gpu",
    {
      readonly cpuMillis: number;
      readonly memoryBytes: number;
      readonly maxPods: number;
      readonly nanoPerHour: bigint;
      readonly extended?: Readonly<Record<string, number>>;
    }
  >
> = {
  small: { cpuMillis: 2000, memoryBytes: 4 * 1024 ** 3, maxPods: 30, nanoPerHour: 20_000_000n },
  medium: { cpuMillis: 4000, memoryBytes: 8 * 1024 ** 3, maxPods: 60, nanoPerHour: 40_000_000n },
  large: { cpuMillis: 8000, memoryBytes: 16 * 1024 ** 3, maxPods: 110, nanoPerHour: 80_000_000n },
  gpu: {
    cpuMillis: 4000,
    memoryBytes: 16 * 1024 ** 3,
    maxPods: 30,
    nanoPerHour: 526_000_000n,
    extended: { "berth.dev/gpu": 1 },
  },
};
export type InstanceType = keyof typeof INSTANCE_TYPES;
export const INSTANCE_TYPE_NAMES = Object.keys(INSTANCE_TYPES) as InstanceType[];
