/**
 * ContainerRuntime without an engine: images pulled from a registry and unpacked, each container
 * an overlay over its image's tree run by a small supervisor (`berth-shim`, C, built from
 * ./shim) in its own mount, pid, uts, ipc and network namespaces under cgroup limits, on Linux
 * bridges. All state is files under `root`, so a restarted agent finds its containers running.
 */
import { constants } from "node:fs";
import { access, lstat, mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { pullFailed } from "../docker-engine";
import {
  type ContainerDiskUsage,
  type ContainerInfo,
  type ContainerRuntime,
  type ContainerSpec,
  RuntimeError,
} from "../types";
import { Cgroups } from "./cgroups";
import { type ContainerRecord, ContainerStore } from "./containers";
import { execCommand, execSession } from "./exec";
import { ImageStore } from "./image-store";
import { readLogs, selectRecords, streamLog } from "./logs";
import { NativeNetworks } from "./network";
import { type RegistryClientOptions, RegistryError } from "./registry";
import { type StartDeps, startContainer } from "./start";

export interface NativeRuntimeOptions {
  /** Where images, containers and networks are kept. Default /var/lib/berth-native. */
  root?: string;
  /** The built `berth-shim` binary (see `buildShim`). */
  shimPath: string;
  /** `uid:gid` of containers whose spec and image name no user. Default 65534:65534 (nobody). */
  defaultUser?: string;
  /** Process limit of every container. Default 512. */
  pidsLimit?: number;
  /** A container's log is rotated past this size, one old file kept (kubelet's default). Default 10 MiB. */
  logMaxBytes?: number;
  /** The network of containers whose spec names none. Default "berth-native". */
  defaultNetwork?: string;
  /** Where subnets of networks made without one are taken from (its /24s). Default 10.200.0.0/16. */
  subnetPool?: string;
  registry?: RegistryClientOptions;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function matches(labels: Record<string, string>, filter: Record<string, string>): boolean {
  return Object.entries(filter).every(([k, v]) => labels[k] === v);
}

export function createNativeRuntime(opts: NativeRuntimeOptions): ContainerRuntime {
  const root = opts.root ?? "/var/lib/berth-native";
  const store = new ContainerStore(root);
  const images = new ImageStore(root, opts.registry);
  const networks = new NativeNetworks(root, opts.subnetPool);
  const cgroups = new Cgroups();
  const defaultNetwork = opts.defaultNetwork ?? "berth-native";
  const deps: StartDeps = {
    store,
    networks,
    cgroups,
    shimPath: opts.shimPath,
    defaultUser: opts.defaultUser ?? "65534:65534",
    pidsLimit: opts.pidsLimit ?? 512,
    logMaxBytes: opts.logMaxBytes ?? 10 * 1024 * 1024,
  };

  async function mustFind(id: string): Promise<ContainerRecord> {
    const record = await store.find(id);
    if (!record) throw new RuntimeError("NOT_FOUND", `no such container: ${id}`);
    return record;
  }

  async function info(record: ContainerRecord): Promise<ContainerInfo> {
    const run = store.runState(record);
    let ip = record.ip;
    if (record.spec.sandboxId) {
      const sandbox = await store.find(record.spec.sandboxId);
      ip = sandbox && store.runState(sandbox).state === "running" ? sandbox.ip : null;
    }
    return store.info(record, run, ip);
  }

  /** Waits until the shim has written the exit status; false at the deadline. */
  async function waitExit(record: ContainerRecord, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (store.runState(record).state === "running") {
      if (Date.now() > deadline) return false;
      await sleep(25);
    }
    return true;
  }

  function signal(pid: number, sig: string): void {
    const name = /^\d+$/.test(sig) ? Number(sig) : `SIG${sig.toUpperCase().replace(/^SIG/, "")}`;
    try {
      process.kill(pid, name as NodeJS.Signals | number);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
  }

  async function running(id: string): Promise<{ record: ContainerRecord; pid: number }> {
    const record = await mustFind(id);
    const run = store.runState(record);
    if (run.state !== "running" || !run.pid)
      throw new RuntimeError("CONFLICT", `container ${id} is not running`);
    return { record, pid: run.pid };
  }

  async function pullImage(image: string): Promise<void> {
    try {
      await images.pull(image);
    } catch (err) {
      throw new RuntimeError("IMAGE_NOT_FOUND", pullFailed(image), {
        retryable: err instanceof RegistryError ? err.transient : false,
        detail: (err as Error).message || String(err),
        cause: err,
      });
    }
  }

  const starting = new Map<string, Promise<void>>();

  return {
    name: "native",

    async ping() {
      try {
        await access(opts.shimPath, constants.X_OK);
        await mkdir(root, { recursive: true });
      } catch (err) {
        throw new RuntimeError("UNAVAILABLE", `native runtime: ${(err as Error).message}`, {
          retryable: true,
        });
      }
    },

    async ensureImage(image) {
      if (await images.get(image)) return;
      await pullImage(image);
    },
    pullImage,
    hasImage: async (image) => (await images.get(image)) !== null,
    async imageConfig(image) {
      const record = await images.get(image);
      return record ? { id: record.id, digest: record.digest, user: record.config.User ?? "" } : null;
    },

    async create(spec: ContainerSpec) {
      const image = await images.get(spec.image);
      if (!image)
        throw new RuntimeError("IMAGE_NOT_FOUND", `image ${JSON.stringify(spec.image)} is not present`);
      let network: string | null = null;
      if (spec.sandboxId) {
        if (!(await store.find(spec.sandboxId)))
          throw new RuntimeError("NOT_FOUND", `no such sandbox container: ${spec.sandboxId}`);
      } else {
        network = spec.network?.name ?? defaultNetwork;
        if (!spec.network) await networks.ensure(defaultNetwork, {});
        else if (!(await networks.get(network)))
          throw new RuntimeError("NOT_FOUND", `no such network: ${network}`);
      }
      const record = await store.create({
        name: spec.name,
        spec,
        imageId: image.id,
        rootfs: image.rootfs,
        imageConfig: image.config,
        createdAt: new Date().toISOString(),
        startedAt: null,
        network,
        ip: null,
      });
      if (!record)
        throw new RuntimeError("CONFLICT", `the container name ${JSON.stringify(spec.name)} is taken`);
      if (network) {
        record.ip = await networks.allocate(network, record.id);
        await store.save(record);
      }
      return record.id;
    },

    async start(id) {
      const record = await mustFind(id);
      const pending = starting.get(record.id);
      if (pending) return pending;
      if (store.runState(record).state === "running") return;
      const p = startContainer(deps, record).finally(() => starting.delete(record.id));
      starting.set(record.id, p);
      return p;
    },

    async stop(id, timeoutSeconds) {
      const record = await store.find(id);
      if (!record) return;
      const run = store.runState(record);
      if (run.state === "running" && run.pid) {
        signal(run.pid, "TERM");
        if (!(await waitExit(record, Math.max(0, timeoutSeconds) * 1000))) {
          signal(run.pid, "KILL");
          await waitExit(record, 10_000);
        }
      }
      if (!record.spec.sandboxId && record.spec.ports.length > 0) await networks.unpublish(record.id);
    },

    async kill(id, sig) {
      const record = await store.find(id);
      if (!record) return;
      const run = store.runState(record);
      if (run.state === "running" && run.pid) signal(run.pid, sig);
    },

    async execCommand(id, argv, o) {
      const { record, pid } = await running(id);
      try {
        return await execCommand({ shimPath: opts.shimPath, dir: store.dir(record.id), pid }, argv, o);
      } catch (err) {
        throw new RuntimeError("FAILED", `exec in ${id}: ${(err as Error).message}`);
      }
    },

    async exec(id, spec) {
      const { record, pid } = await running(id);
      return execSession({ shimPath: opts.shimPath, dir: store.dir(record.id), pid }, spec);
    },

    async remove(id) {
      const record = await store.find(id);
      if (!record) return;
      const run = store.runState(record);
      if (run.state === "running" && run.pid) {
        signal(run.pid, "KILL");
        await waitExit(record, 10_000);
      }
      if (!record.spec.sandboxId) {
        if (record.spec.ports.length > 0) await networks.unpublish(record.id);
        await networks.detach(record.id);
      }
      if (record.network && record.ip) await networks.release(record.network, record.ip);
      await cgroups.remove(record.id).catch(() => {});
      await store.delete(record);
    },

    async inspect(id) {
      const record = await store.find(id);
      return record ? info(record) : null;
    },

    async list(filter) {
      const all = await Promise.all((await store.all()).map(info));
      return all.filter((c) => matches(c.labels, filter));
    },

    async logs(id, o) {
      const record = await mustFind(id);
      const records = selectRecords(await readLogs(join(store.dir(record.id), "log")), { tail: o.tail });
      return Buffer.concat(records.map((r) => r.data)).toString("utf8");
    },

    async streamLogs(id, o) {
      const record = await mustFind(id);
      return streamLog(join(store.dir(record.id), "log"), o, () => {
        const fresh = store.runState(record);
        return fresh.state !== "running";
      });
    },

    async stats(id) {
      const record = await store.find(id);
      if (!record) return null;
      const run = store.runState(record);
      if (run.state !== "running" || !run.pid) return null;
      const usage = await cgroups.usage(record.id).catch(() => null);
      if (!usage) return null;
      const net = await readFile(`/proc/${run.pid}/net/dev`, "utf8").catch(() => "");
      let rxBytes = 0;
      let txBytes = 0;
      for (const line of net.split("\n").slice(2)) {
        const [iface, rest] = line.split(":");
        if (!rest || iface?.trim() === "lo") continue;
        const f = rest.trim().split(/\s+/).map(Number);
        rxBytes += f[0] ?? 0;
        txBytes += f[8] ?? 0;
      }
      return { ...usage, rxBytes, txBytes };
    },

    ensureNetwork: (name, labels, subnet) => networks.ensure(name, labels, subnet),

    async removeNetwork(name) {
      const inUse = (await store.all()).some((r) => r.network === name);
      return networks.remove(name, inUse);
    },

    async diskUsage(filter): Promise<ContainerDiskUsage[]> {
      const out: ContainerDiskUsage[] = [];
      for (const record of await store.all()) {
        const labels = { ...(record.imageConfig.Labels ?? {}), ...record.spec.labels };
        if (!matches(labels, filter)) continue;
        out.push({
          id: record.id,
          labels,
          writableBytes: await treeBytes(join(store.dir(record.id), "upper")),
        });
      }
      return out;
    },
  };
}

/** Bytes of the files under `dir` (what the container wrote over its image). */
async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) total += await treeBytes(path);
    else total += (await lstat(path).catch(() => null))?.size ?? 0;
  }
  return total;
}
