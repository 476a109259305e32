import { BerthError, ValidationError } from "@berth/core";
import { clusters, objects, type Tx } from "@berth/db";
import {
  freeServiceAddress,
  HEADLESS,
  isServiceAddress,
  preferredServiceBlock,
  SERVICE_RANGE_BLOCKS,
  type ServiceSpec,
  serviceRangeOfBlock,
} from "@berth/kube";
import { and, eq, isNull, sql } from "drizzle-orm";

const isUniqueViolation = (error: unknown): boolean => {
  for (let e = error as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    if (e.code === "23505") return true;
  return false;
};

/**
 * Sets a platform-unique value (an address block) on a row, trying block `start`, then the next
 * ones, wrapping at `count`: each try is a savepoint, and a unique violation (another tenant's row,
 * which this one cannot see) moves on to the next block. `set` answers the value it set, or
 * undefined when the row had one already (another writer set it meanwhile): then that is read
 * again by the caller's `current`.
 */
export async function claimUniqueBlock(
  tx: Tx,
  o: {
    current: () => Promise<string | null | undefined>;
    start: number;
    count: number;
    set: (sp: Tx, block: number) => Promise<string | null | undefined>;
    exhausted: string;
  },
): Promise<string> {
  const current = await o.current();
  if (current) return current;
  for (let i = 0; i < o.count; i++) {
    try {
      const set = await tx.transaction((sp) => o.set(sp, o.start + i));
      if (set) return set;
      return claimUniqueBlock(tx, o);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
  throw new BerthError("QUOTA_EXCEEDED", o.exhausted);
}

/**
 * The cluster's service range, allocated on first need: the block its id hashes to, else the next
 * free one. Ranges are unique across the platform (a unique index the tenant's own rows cannot
 * see past: a clash rolls back its savepoint and the next block is tried).
 */
export function ensureServiceRange(tx: Tx, clusterId: string): Promise<string> {
  return claimUniqueBlock(tx, {
    current: async () => {
      const [row] = await tx
        .select({ cidr: clusters.serviceCidr })
        .from(clusters)
        .where(eq(clusters.id, clusterId));
      if (!row) throw new BerthError("NOT_FOUND", `cluster ${clusterId} not found`);
      return row.cidr;
    },
    start: preferredServiceBlock(clusterId),
    count: SERVICE_RANGE_BLOCKS,
    set: async (sp, block) => {
      const [set] = await sp
        .update(clusters)
        .set({ serviceCidr: serviceRangeOfBlock(block) })
        .where(and(eq(clusters.id, clusterId), isNull(clusters.serviceCidr)))
        .returning({ cidr: clusters.serviceCidr });
      return set?.cidr;
    },
    exhausted: "no service range is free on this platform",
  });
}

const invalidIP = (message: string) =>
  new ValidationError(`spec.clusterIP: ${message}`, [{ path: "spec.clusterIP", message }]);

/**
 * clusterIPs of one apply: a Service keeps the address it has (re-applying never moves it; asking
 * for another is refused, as Kubernetes refuses it), a new one gets the one it asks for if that is
 * free and in the range, else the lowest free address. Addresses of deleted Services are free
 * again: what is in use is read from the Services that exist.
 */
export class ServiceAddresses {
  private range: string | undefined;
  /** address → `namespace/name` of the Service holding it (stored, or admitted earlier in this apply). */
  private used: Map<string, string> | undefined;

  constructor(
    private readonly tx: Tx,
    private readonly clusterId: string,
  ) {}

  private async load(): Promise<{ range: string; used: Map<string, string> }> {
    if (this.range && this.used) return { range: this.range, used: this.used };
    this.range = await ensureServiceRange(this.tx, this.clusterId);
    const rows = await this.tx
      .select({
        namespace: objects.namespace,
        name: objects.name,
        ip: sql<string>`${objects.spec}->>'clusterIP'`,
      })
      .from(objects)
      .where(and(eq(objects.clusterId, this.clusterId), eq(objects.kind, "Service")));
    this.used = new Map(
      rows.filter((r) => r.ip && r.ip !== HEADLESS).map((r) => [r.ip, `${r.namespace}/${r.name}`]),
    );
    return { range: this.range, used: this.used };
  }

  async assign(
    namespace: string,
    name: string,
    spec: ServiceSpec,
    currentIP: string | undefined,
  ): Promise<ServiceSpec> {
    const { range, used } = await this.load();
    const key = `${namespace}/${name}`;
    let ip = spec.clusterIP;
    // Headless stays headless and the other way round (Kubernetes: the clusterIP never changes once set).
    if (currentIP === HEADLESS || (ip === HEADLESS && currentIP)) {
      if (ip !== "" && ip !== currentIP) throw invalidIP(`field is immutable (it is ${currentIP})`);
      if (spec.type !== "ClusterIP")
        throw invalidIP(`Invalid value: "None": may not be set to 'None' for ${spec.type} services`);
      return { ...spec, clusterIP: HEADLESS };
    }
    if (ip === HEADLESS) return spec;
    if (currentIP) {
      if (ip !== "" && ip !== currentIP) throw invalidIP(`field is immutable (it is ${currentIP})`);
      ip = currentIP;
    } else if (ip !== "") {
      if (!isServiceAddress(range, ip))
        throw invalidIP(
          `Invalid value: ${JSON.stringify(ip)}: provided IP is not in the valid range. The range of valid IPs is ${range} (not .0, .10 or .255)`,
        );
      const holder = used.get(ip);
      if (holder !== undefined && holder !== key)
        throw invalidIP(`Invalid value: ${JSON.stringify(ip)}: provided IP is already allocated`);
    } else {
      const mine = [...used].find(([, holder]) => holder === key)?.[0];
      ip = mine ?? freeServiceAddress(range, new Set(used.keys())) ?? "";
      if (ip === "")
        throw new BerthError(
          "QUOTA_EXCEEDED",
          `the cluster's service range ${range} has no free address left`,
        );
    }
    used.set(ip, key);
    return { ...spec, clusterIP: ip };
  }
}
