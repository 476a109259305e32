/**
 * The narrow interface the node agent drives containers through. Implementations speak to an
 * engine API with structured requests (never shell strings) and all pass `conformance.ts`.
 */

export interface PortMapping {
  containerPort: number;
  hostPort: number;
  hostIp: string;
  protocol: "tcp" | "udp";
}

export interface ContainerSpec {
  /** Unique container name, e.g. "berth-pod_01h...". */
  name: string;
  image: string;
  /** Kubernetes semantics: overrides the image ENTRYPOINT. An empty array counts as not given. */
  command?: string[] | undefined;
  /** Overrides the image CMD. An empty array counts as not given. */
  args?: string[] | undefined;
  env: Record<string, string>;
  labels: Record<string, string>;
  ports: PortMapping[];
  resources: { nanoCpus?: number | undefined; memoryBytes?: number | undefined };
  hostname?: string | undefined;
  /** `uid[:gid]` to run as; absent: the runtime's default (see its options). */
  user?: string | undefined;
  /** Supplementary groups of the container's processes (a pod's `fsGroup`). */
  groups?: number[] | undefined;
  /** The working directory; absent: the image's. */
  workingDir?: string | undefined;
  /** Host directories and files bound in, and tmpfs mounts, at their targets. */
  mounts?: Mount[] | undefined;
  /** The root filesystem is mounted read-only (mounts stay as they are). */
  readOnlyRootFilesystem?: boolean | undefined;
  /**
   * Capabilities kept in the bounding set; every other one is dropped. Only NET_BIND_SERVICE is
   * ever asked for (Pod Security "restricted").
   */
  capabilities?: string[] | undefined;
  /** The network the container joins (its own network namespace and address there) and its resolver. */
  network?: ContainerNetwork | undefined;
  /**
   * The container (a pod's sandbox) whose network and UTS namespaces this one joins, as a pod's
   * containers share their sandbox's (Kubernetes' pause container): its address, published ports,
   * `/etc/resolv.conf` and hostname are the sandbox's, and they reach each other on `localhost`.
   * `network`, `ports` and `hostname` are then ignored.
   */
  sandboxId?: string | undefined;
}

/** A container's place in its cluster's network. */
export interface ContainerNetwork {
  /** The engine network's name. */
  name: string;
  /** Name servers, search domains and resolver options of its `/etc/resolv.conf`. */
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
}

/** A bridge network of the engine, as `ensureNetwork` found or made it. */
export interface NetworkInfo {
  name: string;
  /** IPv4 subnet (CIDR) its containers get addresses from, and the host's address on it. */
  subnet: string;
  gateway: string;
}

/** A host path bound into the container, read-only or not. */
export interface BindMount {
  type: "bind";
  source: string;
  target: string;
  readOnly: boolean;
}

/** A memory-backed filesystem of the container's own, empty at each start. */
export interface TmpfsMount {
  type: "tmpfs";
  target: string;
  sizeBytes?: number | undefined;
  /** Permission bits of its root, e.g. 0o1777. */
  mode?: number | undefined;
}

export type Mount = BindMount | TmpfsMount;

/** What a command run in a container did. */
export interface ExecResult {
  /** Null when it did not finish in time. */
  exitCode: number | null;
  /** stdout and stderr interleaved, at most the first `maxOutputBytes`. */
  output: string;
  timedOut: boolean;
}

/** What an image says about itself. */
export interface ImageConfig {
  /** The image's id (`sha256:…`). */
  id: string;
  /** Its digest as pulled from a registry (`repo@sha256:…`), when it has one. */
  digest: string | null;
  /** The `USER` it runs as (`""` means root), as written: a name or uid, with an optional `:group`. */
  user: string;
}

export type ContainerState =
  | "created"
  | "running"
  | "exited"
  | "paused"
  | "restarting"
  | "removing"
  | "dead"
  | "unknown";

export interface ContainerInfo {
  id: string;
  name: string;
  /** The image reference the container was created from, as given in the spec. */
  image: string;
  /** The container's labels; engines merge the image's own labels in. */
  labels: Record<string, string>;
  state: ContainerState;
  /** Exit code of the last run; null unless the state is "exited" or "dead". */
  exitCode: number | null;
  /** Start of the current or last run; null if never started. */
  startedAt: string | null;
  /** End of the last run; null unless the state is "exited" or "dead". */
  finishedAt: string | null;
  /** Restarts done by the engine's own restart policy (always 0 here: the agent restarts). */
  restartCount: number;
  /** The host ports it publishes (as configured, also while it is not running). */
  ports: PortMapping[];
  /** Whether the kernel killed it (or a process of it) for exceeding its memory limit. */
  oomKilled: boolean;
  /**
   * Its address on the engine's network while it runs (reachable from the node), else null; for a
   * container in a sandbox's namespaces, the sandbox's (null when the sandbox is not running).
   */
  ipAddress: string | null;
  /** The sandbox whose namespaces it joined (`ContainerSpec.sandboxId`), else null. */
  sandboxId: string | null;
  /** The image's id it was created from (`sha256:…`). */
  imageId: string;
}

/** What a container has written: the size of its writable layer, in bytes. */
export interface ContainerDiskUsage {
  id: string;
  labels: Record<string, string>;
  writableBytes: number;
}

/** Cumulative CPU time in nanoseconds, current memory use in bytes, cumulative bytes received and sent. */
export interface ContainerStats {
  cpuNanos: number;
  memoryBytes: number;
  /** Over all of the container's interfaces (0 when it has no network of its own). */
  rxBytes: number;
  txBytes: number;
}

/** Which lines `streamLogs` reads, in the engine's terms (Kubernetes' log options map onto these). */
export interface LogStreamOptions {
  /** Keep the stream open and pass on new lines until the container stops (or `close`). */
  follow?: boolean;
  /** Only lines written at or after this instant (RFC 3339, any precision: nanoseconds are kept). */
  since?: string | undefined;
  /** Only lines written at or before this instant (RFC 3339). */
  until?: string | undefined;
  /**
   * The last n lines of the container's log, taken before `since`/`until` filter (as the engines
   * and the kubelet do); 0 gives none. Absent: all.
   */
  tail?: number | undefined;
  /** Prefix each line with its time (RFC 3339, as precise as the engine keeps it) and a space. */
  timestamps?: boolean;
}

/** Bytes a container (or an exec'd process) wrote, and where; a tty's output is all stdout. */
export interface OutputChunk {
  stream: "stdout" | "stderr";
  data: Buffer;
}

/** A container's log as it is read: iterate it (reading is paced by the reader), close it to stop. */
export interface LogStream extends AsyncIterable<OutputChunk> {
  /** Stops reading; a following stream ends. Idempotent. */
  close(): void;
}

export interface ExecSpec {
  /** argv of the process; never a shell string. */
  command: string[];
  /** Whether stdin is attached (else the process reads EOF at once). */
  stdin: boolean;
  /** A pseudo-terminal: one output stream, line discipline, resizable. */
  tty: boolean;
  /** Its initial size (tty only). */
  size?: { width: number; height: number } | undefined;
}

/** A process started in a running container, attached. */
export interface ExecSession {
  /** Its stdout and stderr (a tty's output is all stdout); ends when the process does. */
  readonly output: AsyncIterable<OutputChunk>;
  /** Writes to its stdin; resolves once the engine took the bytes (back-pressure). */
  write(data: Uint8Array): Promise<void>;
  /** Closes its stdin: the process reads EOF. */
  closeStdin(): void;
  /** Resizes its terminal (tty only). */
  resize(size: { width: number; height: number }): Promise<void>;
  /** Its exit code, once it has ended (read `output` to its end first). */
  exitCode(): Promise<number>;
  /** Detaches: the process's stdin closes and a tty hangs up; the engine may let it run on. */
  close(): void;
}

export interface ContainerRuntime {
  readonly name: string;
  ping(): Promise<void>;
  /**
   * Present locally → nothing; else pull. Throws IMAGE_NOT_FOUND if neither works, with a message
   * that says only that (`could not pull image "x": not found or not reachable`): what the network
   * answered stays in `detail`, for the node's log.
   */
  ensureImage(image: string): Promise<void>;
  /** Returns the id; throws CONFLICT if the name is taken, IMAGE_NOT_FOUND if the image is absent. */
  create(spec: ContainerSpec): Promise<string>;
  /** Idempotent: starting a running container is fine. Throws NOT_FOUND if missing. */
  start(id: string): Promise<void>;
  /** Idempotent: a stopped (or missing) container is fine. SIGTERM, then SIGKILL after the timeout. */
  stop(id: string, timeoutSeconds: number): Promise<void>;
  /**
   * Sends a signal (`"TERM"`, `"KILL"`, …) to the container's main process. A container that is
   * not running (or missing) is fine.
   */
  kill(id: string, signal: string): Promise<void>;
  /**
   * Runs `argv` in the running container (no shell) as its user and waits for it, at most
   * `timeoutMs`: then the command is killed where the engine allows and `timedOut` is true.
   * Throws NOT_FOUND if the container is missing, CONFLICT if it is not running.
   */
  execCommand(
    id: string,
    argv: string[],
    opts: { timeoutMs: number; maxOutputBytes?: number },
  ): Promise<ExecResult>;
  /** Whether the image is present on the node. */
  hasImage(image: string): Promise<boolean>;
  /** Pulls the image even when present (`imagePullPolicy: Always`); fails as ensureImage does. */
  pullImage(image: string): Promise<void>;
  /** The image's own configuration; null when it is not present. */
  imageConfig(image: string): Promise<ImageConfig | null>;
  /** Force-removes the container and its anonymous volumes. Idempotent: missing is fine. */
  remove(id: string): Promise<void>;
  /** Null when missing. */
  inspect(id: string): Promise<ContainerInfo | null>;
  /** Containers in every state carrying all the given labels. */
  list(labelFilter: Record<string, string>): Promise<ContainerInfo[]>;
  /** Demultiplexed stdout and stderr, interleaved in the order written. Throws NOT_FOUND if missing. */
  logs(id: string, opts: { tail: number }): Promise<string>;
  /**
   * The log as a stream of demultiplexed chunks in the order written, following it when asked
   * (the stream ends when the container stops). Throws NOT_FOUND if missing.
   */
  streamLogs(id: string, opts: LogStreamOptions): Promise<LogStream>;
  /**
   * Starts a process in a running container and attaches to it. Throws NOT_FOUND if the container
   * is missing, CONFLICT if it is not running.
   */
  exec(id: string, spec: ExecSpec): Promise<ExecSession>;
  /** One-shot sample; null when the container is missing or not running. */
  stats(id: string): Promise<ContainerStats | null>;
  /**
   * The bridge network of that name, made if missing: with `subnet` (an IPv4 CIDR; the gateway is
   * its `.1`), else a subnet chosen by the engine among the free ones of the host. (Podman's
   * `isolate` option is asked for, but isolation between networks is the agent's firewall's job:
   * netavark 1.4 does not keep it reliably.)
   */
  ensureNetwork(name: string, labels: Record<string, string>, subnet?: string): Promise<NetworkInfo>;
  /** Removes the network (true also when it is gone already); false while containers use it. */
  removeNetwork(name: string): Promise<boolean>;
  /** The writable layer's size of every container carrying all the given labels (what ephemeral storage limits). */
  diskUsage(labelFilter: Record<string, string>): Promise<ContainerDiskUsage[]>;
}

export const RUNTIME_ERROR_CODES = [
  "NOT_FOUND",
  "CONFLICT",
  "IMAGE_NOT_FOUND",
  "UNAVAILABLE",
  "FAILED",
] as const;
export type RuntimeErrorCode = (typeof RUNTIME_ERROR_CODES)[number];

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;
  /** Whether the same call may succeed later without the caller changing anything. */
  readonly retryable: boolean;
  /** The engine's own words, when `message` leaves them out: for the node's log only. */
  readonly detail: string | undefined;

  constructor(
    code: RuntimeErrorCode,
    message: string,
    opts: { retryable?: boolean; cause?: unknown; detail?: string } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "RuntimeError";
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.detail = opts.detail;
  }
}

export function isRuntimeError(err: unknown, code?: RuntimeErrorCode): err is RuntimeError {
  return err instanceof RuntimeError && (code === undefined || err.code === code);
}
