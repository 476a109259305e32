import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { BerthError, INSTANCE_TYPES, type InstanceType, type Logger } from "@berth/core";
import { LOCAL_VM_FILES, localVmDir, localVmInstanceId } from "@berth/core/local-vm";
import type { MachineProvider, MachineSpec, ProviderInstance } from "../types";
import { writeConfigDisk, writeScratchDisk } from "./disks";
import { type Accel, chooseAccel, guestImage, isQemuOf, startQemu } from "./qemu";
import { claimSlot, type PortPlan, portsOf, releaseSlot } from "./slots";
import { createLocalVmDisks } from "./volumes";

export interface LocalVmOptions {
  /** Where each VM keeps its files (`<dir>/<instanceId>/`); survives provisioner restarts. */
  dir: string;
  /** The guest image (infra/guest/build.sh's `.data/guest/current`). */
  imageDir: string;
  /** The control API as the guests reach it (user-mode networking: the host is 10.0.2.2). */
  guestApiUrl: string;
  /** Berth's registry (`host:port`, as images name it): the guests pull the pod sandbox from its `library/pause`. */
  registry?: string | undefined;
  ports: PortPlan;
  /** No VM gets more memory than this, whatever its instance type says (a 24 GiB host runs several). */
  maxMemoryMiB: number;
  scratchDiskGiB: number;
  /** auto: KVM if a probe boot succeeds (cached in `accelCacheFile`), else TCG. */
  accel: "auto" | Accel;
  accelCacheFile: string;
  qemu: string;
  zone: string;
  logger: Logger;
}

/** What the provider records of a VM, in `meta.json`. */
interface VmMeta {
  instanceId: string;
  machineId: string;
  clusterId: string;
  poolId: string;
  tenantId: string;
  slot: number;
  ports: { min: number; max: number };
  vcpus: number;
  memoryMiB: number;
  accel: Accel;
  createdAt: string;
}

/** Memory the guest keeps for its kernel, init and the agent itself. */
const GUEST_RESERVED_MIB = 384;

/** An instance type's VM: its vCPUs (at most the host's cores) and memory (at most the cap). */
export function vmSize(type: InstanceType, maxMemoryMiB: number): { vcpus: number; memoryMiB: number } {
  const t = INSTANCE_TYPES[type];
  return {
    vcpus: Math.max(1, Math.min(Math.floor(t.cpuMillis / 1000), cpus().length)),
    memoryMiB: Math.min(Math.floor(t.memoryBytes / 1024 ** 2), maxMemoryMiB),
  };
}

const unavailable = (message: string, cause?: unknown) =>
  new BerthError("UNAVAILABLE", `local-vm: ${message}`, { retryable: true, cause });

/**
 * Machines as QEMU virtual machines on this host, each booting the guest image and running the
 * node agent its control plane serves. A VM is a directory and a detached QEMU process: the
 * provisioner may die (kill -9) and come back; it finds its VMs again from the directories and
 * their live pids. Idempotent by machine id: the instance id is derived from it.
 */
export function createLocalVmProvider(opts: LocalVmOptions): MachineProvider {
  let accel: Promise<Accel> | undefined;
  const image = guestImage(opts.imageDir);

  const vmAccel = () => {
    if (opts.accel !== "auto") return Promise.resolve(opts.accel);
    accel ??= chooseAccel({ qemu: opts.qemu, image, cacheFile: opts.accelCacheFile, probeMs: 10_000 }).then(
      (r) => {
        if (r.probedMs !== null)
          opts.logger.info({ accel: r.accel, probeMs: r.probedMs }, "local-vm: probed KVM with a short boot");
        return r.accel;
      },
    );
    accel.catch(() => {
      accel = undefined;
    });
    return accel;
  };

  const readMeta = async (vm: string): Promise<VmMeta | null> =>
    readFile(join(vm, LOCAL_VM_FILES.meta), "utf8")
      .then((t) => JSON.parse(t) as VmMeta)
      .catch(() => null);
  const readPid = async (vm: string): Promise<number> =>
    Number((await readFile(join(vm, LOCAL_VM_FILES.pid), "utf8").catch(() => "")).trim() || 0);
  const alive = async (vm: string, instanceId: string) => isQemuOf(await readPid(vm), `berth-${instanceId}`);

  async function observe(instanceId: string): Promise<ProviderInstance | null> {
    const vm = localVmDir(opts.dir, instanceId);
    const meta = vm ? await readMeta(vm) : null;
    if (!vm || !meta) return null;
    return {
      instanceId,
      machineId: meta.machineId,
      clusterId: meta.clusterId,
      state: (await alive(vm, instanceId)) ? "running" : "terminated",
      zone: opts.zone,
    };
  }

  async function launch(spec: MachineSpec, instanceId: string, vm: string): Promise<void> {
    const held = new Set<number>();
    for (const name of await readdir(opts.dir).catch(() => [] as string[])) {
      const vmDir = localVmDir(opts.dir, name);
      const other = vmDir ? await readMeta(vmDir) : null;
      if (other) held.add(other.slot);
    }
    const slot = await claimSlot(opts.dir, opts.ports, held);
    if (slot === null)
      throw unavailable(`all ${opts.ports.slots} port ranges are in use: no room for another VM`);
    const size = vmSize(spec.instanceType, opts.maxMemoryMiB);
    const meta: VmMeta = {
      instanceId,
      machineId: spec.machineId,
      clusterId: spec.clusterId,
      poolId: spec.poolId,
      tenantId: spec.tenantId,
      slot,
      ports: portsOf(opts.ports, slot),
      ...size,
      accel: await vmAccel(),
      createdAt: new Date().toISOString(),
    };
    try {
      await rm(vm, { recursive: true, force: true });
      await mkdir(vm, { recursive: true, mode: 0o700 });
      const configDisk = join(vm, "config.ext4");
      const scratchDisk = join(vm, "scratch.ext4");
      await writeConfigDisk(configDisk, {
        BERTH_SERVER: opts.guestApiUrl,
        BERTH_JOIN_TOKEN: spec.boot.joinToken,
        BERTH_NODE_NAME: spec.boot.nodeName,
        // The control plane and users reach the node's pods through the host's forwarded ports.
        BERTH_NODE_ADDRESS: "127.0.0.1",
        BERTH_PUBLISH_ADDRESS: "0.0.0.0",
        BERTH_PORT_RANGE: `${meta.ports.min}-${meta.ports.max}`,
        BERTH_CPU_MILLIS: String(size.vcpus * 1000),
        BERTH_MEMORY_BYTES: String((size.memoryMiB - GUEST_RESERVED_MIB) * 1024 ** 2),
        BERTH_MAX_PODS: String(INSTANCE_TYPES[spec.instanceType].maxPods),
        BERTH_RUNTIME: "native",
        // Where the guest image has the native runtime's process shim (infra/guest/build.sh).
        BERTH_SHIM_PATH: "/usr/libexec/berth/berth-shim",
        BERTH_POD_NETWORK: "off",
        // The host's loopback is 10.0.2.2 in the guest (user-mode networking): registries and token
        // realms named 127.0.0.1 or localhost are reached there.
        BERTH_REGISTRY_HOST_ALIASES: "127.0.0.1=10.0.2.2,localhost=10.0.2.2",
        ...(opts.registry
          ? {
              // The node's own sandbox image comes from the platform's library/ (infra/up.sh pushes it).
              BERTH_IMAGE_REWRITES: `localhost/berth/=${opts.registry}/library/`,
            }
          : {}),
        BERTH_NODE_ZONE: opts.zone,
      });
      await writeScratchDisk(scratchDisk, opts.scratchDiskGiB);
      // meta.json last but one: a directory with it is a VM this provider made.
      await writeFile(join(vm, LOCAL_VM_FILES.meta), `${JSON.stringify(meta, null, 2)}\n`);
      const pid = await startQemu({
        qemu: opts.qemu,
        accel: meta.accel,
        name: `berth-${instanceId}`,
        image,
        vcpus: size.vcpus,
        memoryMiB: size.memoryMiB,
        configDisk,
        scratchDisk,
        pidFile: join(vm, LOCAL_VM_FILES.pid),
        consoleFile: join(vm, LOCAL_VM_FILES.console),
        qmpSocket: join(vm, LOCAL_VM_FILES.qmp),
        ports: meta.ports,
      });
      opts.logger.info(
        { instanceId, pid, ...size, accel: meta.accel, ports: meta.ports },
        "local-vm: VM started",
      );
    } catch (error) {
      await rm(vm, { recursive: true, force: true });
      await releaseSlot(opts.dir, slot);
      throw unavailable(
        `could not start the VM of machine ${spec.machineId}: ${(error as Error).message}`,
        error,
      );
    }
  }

  async function stop(instanceId: string, vm: string): Promise<void> {
    const name = `berth-${instanceId}`;
    const pid = await readPid(vm);
    if (await isQemuOf(pid, name)) {
      process.kill(pid, "SIGTERM");
      for (let i = 0; i < 50 && (await isQemuOf(pid, name)); i++)
        await new Promise((r) => setTimeout(r, 100));
      if (await isQemuOf(pid, name)) process.kill(pid, "SIGKILL");
      for (let i = 0; i < 50 && (await isQemuOf(pid, name)); i++)
        await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function remove(instanceId: string): Promise<void> {
    const vm = localVmDir(opts.dir, instanceId);
    if (!vm) return;
    const meta = await readMeta(vm);
    await stop(instanceId, vm);
    await rm(vm, { recursive: true, force: true });
    if (meta) await releaseSlot(opts.dir, meta.slot);
  }

  return {
    name: "local-vm",
    disks: createLocalVmDisks({ dir: opts.dir, qemuImg: "qemu-img", logger: opts.logger }),
    async create(spec) {
      const instanceId = localVmInstanceId(spec.machineId);
      const vm = localVmDir(opts.dir, instanceId);
      if (!vm) throw new BerthError("VALIDATION_FAILED", `local-vm: bad machine id ${spec.machineId}`);
      await mkdir(opts.dir, { recursive: true });
      const existing = await observe(instanceId);
      if (existing?.state === "running") return { instanceId, zone: opts.zone };
      if (existing) await remove(instanceId); // a launch that died half-way, or its QEMU since
      await launch(spec, instanceId, vm);
      return { instanceId, zone: opts.zone };
    },
    describe: (instanceId) => observe(instanceId),
    terminate: (instanceId) => remove(instanceId),
    release: (instanceId) => remove(instanceId),
    async listOwned(filter) {
      const names = await readdir(opts.dir).catch(() => [] as string[]);
      const out: ProviderInstance[] = [];
      for (const name of names) {
        const i = await observe(name);
        if (i && (!filter.clusterId || i.clusterId === filter.clusterId)) out.push(i);
      }
      return out;
    },
  };
}
