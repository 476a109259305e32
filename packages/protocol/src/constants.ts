/**
 * Facts both ends of the node wire rely on. The control plane decides them; the agent takes the
 * values the control plane sends where a reply carries them, and these as its defaults.
 */

/** How long a node credential lives; the control plane renews it on a sync past half of that. */
export const NODE_CREDENTIAL_TTL_SECONDS = 3600;

/** How often an agent renews its lease (`POST /v1/nodes/heartbeat`); a lease lasts a few of these. */
export const HEARTBEAT_INTERVAL_MS = 2_000;

/**
 * How often an agent looks at its full status report, and sends it if it differs from the last one
 * the control plane took (a change is reported at once anyway; this is the net under that).
 */
export const FULL_SYNC_INTERVAL_MS = 10_000;

/**
 * How often an agent sends its full status report when nothing changed: the safety net under the
 * pushed assignments and the event-driven reports, which also renews the node's credential.
 */
export const UNCHANGED_SYNC_INTERVAL_MS = 60_000;

/** The longest the control plane holds a watch (`GET /v1/nodes/watch`) open when nothing changes. */
export const WATCH_MAX_WAIT_MS = 25_000;

/** Ephemeral storage a container may write (its writable layer) when its template gives no limit. */
export const DEFAULT_EPHEMERAL_STORAGE_BYTES = 1024 ** 3;

/**
 * Labels the agent puts on every container it runs. It only ever touches containers carrying its
 * own installation and node ids; other agents may share the engine.
 */
export const CONTAINER_LABELS = {
  node: "berth.node",
  cluster: "berth.cluster",
  installation: "berth.installation",
  pod: "berth.pod",
  container: "berth.container",
  podName: "berth.pod-name",
  namespace: "berth.namespace",
  /**
   * How many instances of the pod's container ran before this one (Kubernetes' restartCount).
   * Each restart is a new container; the one before it is kept, exited, for its last state and logs.
   */
  restartCount: "berth.restart-count",
  /**
   * "init" for an init container, "app" (or absent) for a container of `containers`, "sandbox" for
   * the pod's sandbox (the holder of its network namespace; its `container` label is "POD").
   */
  kind: "berth.container-kind",
} as const;

/** Node labels only the platform sets (from the node pool or machine a node belongs to). */
export const NODE_LABELS = {
  pool: "berth.io/pool",
  machine: "berth.io/machine",
  instanceType: "berth.io/instance-type",
  /** Every node's zone: its EC2 availability zone, or its pool's `zone`, or DEFAULT_ZONE. */
  zone: "topology.kubernetes.io/zone",
  /** Every node's name, as Kubernetes labels it. */
  hostname: "kubernetes.io/hostname",
} as const;

/** The zone of a node whose pool names none (a byo pool without `zone`, a node joined without a pool). */
export const DEFAULT_ZONE = "default";
