import type { InstanceType } from "@berth/core";

/** What a provider is asked to launch: one machine of a node pool, which joins on its own. */
export interface MachineSpec {
  machineId: string;
  tenantId: string;
  clusterId: string;
  poolId: string;
  instanceType: InstanceType;
  /** The boot script (cloud-init user-data) that installs and starts the node agent. */
  userData: string;
  /** What the boot script carries, for providers that configure a machine otherwise (local-vm's config disk). */
  boot: { joinToken: string; nodeName: string };
}

export type InstanceState = "pending" | "running" | "stopping" | "stopped" | "shutting-down" | "terminated";

export interface ProviderInstance {
  instanceId: string;
  /** From the `berth:machine` tag: which machine row it belongs to. */
  machineId: string | null;
  clusterId: string | null;
  state: InstanceState;
  /** Its availability zone, when the provider says (its node's `topology.kubernetes.io/zone`). */
  zone?: string | undefined;
}

/**
 * Where machines come from. Every call is idempotent: `create` with the same machine id yields the
 * same instance (the id is the launch token and a tag looked up before launching again),
 * `terminate` of a terminated instance is fine. Errors say whether retrying helps (`retryable`).
 */
export interface MachineProvider {
  readonly name: "ec2" | "local-vm";
  /** The instance and the zone it was put in. */
  create(spec: MachineSpec): Promise<{ instanceId: string; zone: string }>;
  describe(instanceId: string): Promise<ProviderInstance | null>;
  terminate(instanceId: string): Promise<void>;
  /** Every instance carrying Berth's tags (of one cluster, or all), including terminated ones the provider still lists. */
  listOwned(filter: { clusterId?: string }): Promise<ProviderInstance[]>;
  /**
   * Forgets a terminated instance for good (local-vm: its files), once its machine is terminated.
   * Providers that forget terminated instances on their own (EC2, after an hour) have none.
   */
  release?(instanceId: string): Promise<void>;
  /** Persistent disks for PersistentVolumeClaims, where the provider has them (local-vm). */
  readonly disks?: DiskProvider;
}

/** A claim's disk as the provider knows it: its cluster, the claim's uid, its size. */
export interface DiskRef {
  clusterId: string;
  claimId: string;
}

/**
 * One disk per PersistentVolumeClaim, attached to at most one instance at a time (ReadWriteOnce),
 * found by the node under the serial `diskSerialOf(claimId)`. Every call is idempotent: `ensure` of
 * a disk that exists, `attach` of one attached there, `detach` of one that is not (or whose instance
 * is gone) and `remove` of one that is gone all succeed.
 */
export interface DiskProvider {
  ensure(disk: DiskRef, sizeBytes: number): Promise<void>;
  attach(instanceId: string, disk: DiskRef): Promise<void>;
  detach(instanceId: string, disk: DiskRef): Promise<void>;
  remove(disk: DiskRef): Promise<void>;
  /** Every disk of a cluster (when the cluster is deleted). */
  removeCluster(clusterId: string): Promise<void>;
}

export const TAG = {
  cluster: "berth:cluster",
  pool: "berth:pool",
  machine: "berth:machine",
  tenant: "berth:tenant",
} as const;

/** States in which an instance exists, costs, or may come back. */
export const LIVE_STATES: readonly InstanceState[] = ["pending", "running", "stopping", "stopped"];
