import { createHash, randomBytes } from "node:crypto";
import {
  type ContainerInfo,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerState,
  type NetworkInfo,
  RuntimeError,
} from "./types";

/**
 * The runtime of a hollow node (kubemark's idea): containers that exist only in this process.
 * A started container reports `running` after `startDelayMs` (the time a real engine takes), keeps
 * running until stopped or killed, and exits as a process would (0 after SIGTERM within its grace,
 * 137 after SIGKILL). Every image is present. Nothing runs: exec'd commands (probes) succeed at
 * once with no output, logs are empty, stats and disk use are zero. A test and bench harness for
 * the control plane at scale (`--hollow`), never a node's default.
 */
export interface HollowRuntimeOptions {
  /** How long a container takes to start (default 0). */
  startDelayMs?: number;
}

interface HollowContainer {
  info: ContainerInfo;
}

const SIGNAL_EXIT: Record<string, number> = { TERM: 143, KILL: 137, INT: 130, HUP: 129 };

export function createHollowRuntime(opts: HollowRuntimeOptions = {}): ContainerRuntime {
  const startDelayMs = opts.startDelayMs ?? 0;
  const containers = new Map<string, HollowContainer>();
  /** Networks by name, each a /24 of 10.200.0.0/16 in the order made (nothing is routed). */
  const networks = new Map<string, NetworkInfo>();
  let nextSubnet = 0;
  const byName = new Map<string, string>();
  const imageId = (image: string) => `sha256:${createHash("sha256").update(image).digest("hex")}`;
  const now = () => new Date().toISOString();

  const find = (id: string): HollowContainer => {
    const c = containers.get(id);
    if (!c) throw new RuntimeError("NOT_FOUND", `no such container: ${id}`);
    return c;
  };
  const exit = (c: HollowContainer, code: number) => {
    if (c.info.state !== "running") return;
    c.info.state = "exited";
    c.info.exitCode = code;
    c.info.finishedAt = now();
  };
  const running = (id: string): HollowContainer => {
    const c = find(id);
    if (c.info.state !== "running") throw new RuntimeError("CONFLICT", `container ${id} is not running`);
    return c;
  };
  const matches = (c: HollowContainer, filter: Record<string, string>) =>
    Object.entries(filter).every(([k, v]) => c.info.labels[k] === v);
  const copy = (c: HollowContainer): ContainerInfo => ({
    ...c.info,
    labels: { ...c.info.labels },
    ports: [...c.info.ports],
  });

  return {
    name: "hollow",
    async ping() {},
    async ensureImage() {},
    async hasImage() {
      return true;
    },
    async pullImage() {},
    async imageConfig(image) {
      return { id: imageId(image), digest: null, user: "" };
    },
    async create(spec: ContainerSpec) {
      if (byName.has(spec.name)) throw new RuntimeError("CONFLICT", `the name ${spec.name} is taken`);
      const id = randomBytes(32).toString("hex");
      const state: ContainerState = "created";
      containers.set(id, {
        info: {
          id,
          name: spec.name,
          image: spec.image,
          labels: { ...spec.labels },
          state,
          exitCode: null,
          startedAt: null,
          finishedAt: null,
          restartCount: 0,
          ports: spec.ports.map((p) => ({ ...p })),
          oomKilled: false,
          ipAddress: null,
          sandboxId: spec.sandboxId ?? null,
          imageId: imageId(spec.image),
        },
      });
      byName.set(spec.name, id);
      return id;
    },
    async start(id) {
      const c = find(id);
      if (c.info.state === "running") return;
      if (startDelayMs > 0) await new Promise((r) => setTimeout(r, startDelayMs));
      if (!containers.has(id)) throw new RuntimeError("NOT_FOUND", `no such container: ${id}`);
      c.info.state = "running";
      c.info.exitCode = null;
      c.info.startedAt = now();
      c.info.finishedAt = null;
    },
    async stop(id) {
      const c = containers.get(id);
      if (c) exit(c, 0);
    },
    async kill(id, signal) {
      const c = containers.get(id);
      if (c) exit(c, SIGNAL_EXIT[signal] ?? 137);
    },
    async execCommand(id) {
      running(id);
      return { exitCode: 0, output: "", timedOut: false };
    },
    async remove(id) {
      const c = containers.get(id);
      if (!c) return;
      containers.delete(id);
      byName.delete(c.info.name);
    },
    async inspect(id) {
      const c = containers.get(id);
      return c ? copy(c) : null;
    },
    async list(filter) {
      return [...containers.values()].filter((c) => matches(c, filter)).map(copy);
    },
    async logs(id) {
      find(id);
      return "";
    },
    async streamLogs(id) {
      find(id);
      return {
        close() {},
        async *[Symbol.asyncIterator]() {},
      };
    },
    async exec(id) {
      running(id);
      throw new RuntimeError("FAILED", "a hollow node runs no processes: exec is not available");
    },
    async stats(id) {
      const c = containers.get(id);
      return c?.info.state === "running" ? { cpuNanos: 0, memoryBytes: 0, rxBytes: 0, txBytes: 0 } : null;
    },
    async ensureNetwork(name, _labels, subnet) {
      let n = networks.get(name);
      if (!n) {
        const third = nextSubnet++ % 256;
        n = subnet
          ? { name, subnet, gateway: subnet.replace(/\.0\/\d+$/, ".1") }
          : { name, subnet: `10.200.${third}.0/24`, gateway: `10.200.${third}.1` };
        networks.set(name, n);
      }
      return { ...n };
    },
    async removeNetwork(name) {
      networks.delete(name);
      return true;
    },
    async diskUsage(filter) {
      return [...containers.values()]
        .filter((c) => matches(c, filter))
        .map((c) => ({ id: c.info.id, labels: { ...c.info.labels }, writableBytes: 0 }));
    },
  };
}
