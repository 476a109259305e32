import { INSTANCE_TYPES, type InstanceType } from "./instance-types";
import { divRoundHalfUp, formatFixed, formatTrimmed } from "./money";

/**
 * Meters. Usage is recorded as intervals with an integer rate (1 for a cluster or node, millicores or
 * bytes for a pod); the raw amount of an interval is `milliseconds × rate`. `rawPerUnit` converts raw
 * amounts into the billed unit exactly.
 */
export const METERS = {
  /** A standard-tier cluster's control plane (with the SLA). */
  cluster_hours: { unit: "cluster-hour", rawPerUnit: 3_600_000n },
  /** A free dev-tier cluster's control plane (no SLA). */
  cluster_dev_hours: { unit: "dev-cluster-hour", rawPerUnit: 3_600_000n },
  node_hours: { unit: "node-hour", rawPerUnit: 3_600_000n },
  machine_small_hours: { unit: "small-machine-hour", rawPerUnit: 3_600_000n },
  machine_medium_hours: { unit: "medium-machine-hour", rawPerUnit: 3_600_000n },
  machine_large_hours: { unit: "large-machine-hour", rawPerUnit: 3_600_000n },
  machine_gpu_hours: { unit: "gpu-machine-hour", rawPerUnit: 3_600_000n },
  pod_vcpu_seconds: { unit: "vCPU-second", rawPerUnit: 1_000_000n }, // ms × millicores
  pod_memory_gib_seconds: { unit: "GiB-second", rawPerUnit: 1000n * 1024n ** 3n }, // ms × bytes
  /**
   * What a pod used beyond what it requested in an hour (measured, from the metrics' hourly tier;
   * never negative). Billed only under a price book's `podUsageBasis: greater-of-requests-and-usage`,
   * at its base meter's price, so that the billed quantity is the larger of the two per pod-hour.
   */
  pod_vcpu_seconds_over_request: { unit: "vCPU-second", rawPerUnit: 1_000_000n },
  pod_memory_gib_seconds_over_request: { unit: "GiB-second", rawPerUnit: 1000n * 1024n ** 3n },
  /** Bytes of responses the ingress gateway sent to clients for a tenant's Ingresses (raw: bytes). */
  egress_bytes: { unit: "GiB", rawPerUnit: 1024n ** 3n },
} as const satisfies Record<string, { unit: string; rawPerUnit: bigint }>;
export type Meter = keyof typeof METERS;
export const METER_NAMES = Object.keys(METERS) as Meter[];

/** Prices are integers of nano-units of the currency (1e-9) per billed unit. */
export const PRICE_DECIMALS = 9;
/** Amounts are reported in micro-units (1e-6); totals are sums of reported line amounts. */
export const AMOUNT_DECIMALS = 6;
/** Quantities are reported to six decimals of their unit. */
export const QUANTITY_DECIMALS = 6;

export interface PriceBook {
  readonly currency: string;
  readonly nanoPerUnit: Readonly<Record<Meter, bigint>>;
}

/** The default, pay-as-you-go prices (USD). */
export const DEFAULT_PRICE_BOOK: PriceBook = {
  currency: "USD",
  nanoPerUnit: {
    cluster_hours: 100_000_000n, // $0.10 per cluster-hour (standard tier)
    cluster_dev_hours: 0n, // free (dev tier)
    node_hours: 10_000_000n, // $0.01 per node-hour (management fee, every node)
    machine_small_hours: INSTANCE_TYPES.small.nanoPerHour, // machines Berth runs for node pools
    machine_medium_hours: INSTANCE_TYPES.medium.nanoPerHour,
    machine_large_hours: INSTANCE_TYPES.large.nanoPerHour,
    machine_gpu_hours: INSTANCE_TYPES.gpu.nanoPerHour,
    pod_vcpu_seconds: 11_244n, // $0.000011244 per vCPU-second requested
    pod_memory_gib_seconds: 1_235n, // $0.000001235 per GiB-second requested
    // Priced as their base meter under the greater-of basis; free under requests (the default).
    pod_vcpu_seconds_over_request: 0n,
    pod_memory_gib_seconds_over_request: 0n,
    egress_bytes: 90_000_000n, // $0.09 per GiB served through the ingress gateway
  },
};

export interface PricedLine {
  meter: Meter;
  clusterId: string;
  quantity: string;
  unit: string;
  unitPrice: string;
  amount: string;
}

export interface PricedUsage {
  currency: string;
  lines: PricedLine[];
  total: string;
}

/** Prices raw usage exactly: amount = raw × nanoPrice / rawPerUnit, rounded once, to micro-units. */
export function priceUsage(
  raw: readonly { meter: Meter; clusterId: string; raw: bigint }[],
  book: PriceBook = DEFAULT_PRICE_BOOK,
): PricedUsage {
  let totalMicro = 0n;
  const lines = raw.map(({ meter, clusterId, raw: amountRaw }) => {
    const { unit, rawPerUnit } = METERS[meter];
    const nano = book.nanoPerUnit[meter];
    const micro = divRoundHalfUp(amountRaw * nano, rawPerUnit * 1000n);
    totalMicro += micro;
    const quantityMicro = divRoundHalfUp(amountRaw * 1_000_000n, rawPerUnit);
    return {
      meter,
      clusterId,
      quantity: formatFixed(quantityMicro, QUANTITY_DECIMALS),
      unit,
      unitPrice: formatTrimmed(nano, PRICE_DECIMALS),
      amount: formatFixed(micro, AMOUNT_DECIMALS),
    };
  });
  return { currency: book.currency, lines, total: formatFixed(totalMicro, AMOUNT_DECIMALS) };
}

const CSV_COLUMNS = ["meter", "clusterId", "quantity", "unit", "unitPrice", "amount", "currency"] as const;

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The same report as CSV: one line a meter and cluster, then a total line. */
export function usageToCsv(usage: PricedUsage): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const l of usage.lines)
    lines.push(CSV_COLUMNS.map((c) => csvField(c === "currency" ? usage.currency : l[c])).join(","));
  lines.push(["total", "", "", "", "", usage.total, usage.currency].map(csvField).join(","));
  return `${lines.join("\n")}\n`;
}

/** Cluster tiers: a free dev tier without an SLA, and the standard tier. */
export const CLUSTER_TIERS = ["dev", "standard"] as const;
export type ClusterTier = (typeof CLUSTER_TIERS)[number];

/** The meter a cluster's control plane runs on, by its tier. */
export function clusterMeter(tier: ClusterTier): Meter {
  return tier === "dev" ? "cluster_dev_hours" : "cluster_hours";
}

/** The meter an hour of a machine of this size runs on. */
export function machineMeter(type: InstanceType): Meter {
  return `machine_${type}_hours`;
}
