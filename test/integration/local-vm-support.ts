import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createTestApi, type TestApi } from "@berth/control-api/testing";
import { createLogger } from "@berth/core";
import { createLocalVmProvider, guestApiUrl, type LocalVmOptions } from "@berth/provisioner/local-vm";
import { createTestProvisionerDeps, startTestProvisioner } from "@berth/provisioner/testing";
import { freePort } from "../e2e/support";
import {
  publishPlatformImage,
  registryTokenSettings,
  startTestRegistry,
  type TestRegistry,
} from "./registry-support";

const REPO = resolve(import.meta.dirname, "../..");

/**
 * A control API and provisioner whose local-vm provider runs real QEMU machines in a directory of
 * the test's own, and Berth's registry (a docker-registry of the test's, its realm this API) with
 * the platform's demo and pause images in `library/`.
 */
export interface LocalVmPlatform {
  api: TestApi;
  server: { url: string; close(): Promise<void> };
  reg: TestRegistry;
  dir: string;
  options: LocalVmOptions;
  /** The `ps` lines of QEMU processes of this directory's VMs. */
  qemuPids(): string[];
  /** The pid of a VM's QEMU, from its pid file. */
  qemuPid(instanceId: string): Promise<number>;
  close(): Promise<void>;
}

export async function startLocalVmPlatform(opts: { slots: number }): Promise<LocalVmPlatform> {
  // Built by infra/services.sh up; a no-op when the image of these inputs exists.
  const imageDir = execFileSync("bash", [join(REPO, "infra/guest/build.sh")], { encoding: "utf8" }).trim();
  const dir = await mkdtemp(join(tmpdir(), "berth-vms-"));
  const registry = await registryTokenSettings();
  // The registry's port first: the API admits its images, and it sends clients to the API for tokens.
  const registryPort = await freePort();
  // Berth's registry as the API names it: admitted for library/, told to nodes in heartbeats.
  const api = await createTestApi({ localVmDir: dir, registry, registryHost: `127.0.0.1:${registryPort}` });
  await api.deps.agent.bundle(); // what the guests fetch, built before any clock starts
  const server = await api.listen();
  const reg = await startTestRegistry(`${server.url}/v1/registry/token`, registryPort);
  await publishPlatformImage(reg, registry, "localhost/berth/demo-web:latest", "library/demo-web");
  await publishPlatformImage(reg, registry, "localhost/berth/pause:latest", "library/pause");
  const options: LocalVmOptions = {
    dir,
    imageDir,
    guestApiUrl: guestApiUrl(server.url),
    registry: reg.host,
    ports: { base: 47_000 + (process.pid % 100) * 20, size: 4, slots: opts.slots },
    maxMemoryMiB: 1024,
    scratchDiskGiB: 2,
    accel: "auto",
    accelCacheFile: join(REPO, ".data/guest/accel.json"),
    qemu: "qemu-system-x86_64",
    zone: "local",
    logger: createLogger("provisioner", "silent"),
  };
  const workers = await startTestProvisioner(
    createTestProvisionerDeps({
      db: api.deps.db,
      redis: api.deps.redis,
      queues: api.deps.queues,
      master: api.deps.master,
      providers: { "local-vm": createLocalVmProvider(options) },
      // Guests under TCG are slow: their heartbeats (every 2 s) may lag, several boot at once.
      timings: {
        nodeLeaseMs: 20_000,
        machineJoinTimeoutMs: 240_000,
        machineRepairTimeoutMs: 120_000,
        drainTimeoutMs: 15_000,
      },
    }),
  );
  const qemuPids = () =>
    execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l.includes("qemu-system-x86_64") && l.includes(dir));
  return {
    api,
    server,
    reg,
    dir,
    options,
    qemuPids,
    qemuPid: async (instanceId) => Number((await readFile(join(dir, instanceId, "qemu.pid"), "utf8")).trim()),
    async close() {
      await workers.stop();
      await reg.close();
      await server.close();
      await api.close();
      for (const line of qemuPids()) process.kill(Number(line.trim().split(" ")[0]), "SIGKILL");
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A Deployment of the platform's demo image from the registry, its replicas spread over the nodes. */
export function demoFromRegistry(reg: TestRegistry, replicas: number) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web" },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "kubernetes.io/hostname",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: { app: "web" } },
            },
          ],
          containers: [
            {
              name: "web",
              image: `${reg.host}/library/demo-web:latest`,
              ports: [{ containerPort: 8080 }],
              resources: { requests: { cpu: "100m", memory: "32Mi" } },
            },
          ],
        },
      },
    },
  };
}

/** What a pod's published port answers on the host (null: nothing yet). */
export async function answerOf(hostPort: number): Promise<string | null> {
  const res = await fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(5_000) }).catch(
    () => null,
  );
  return res?.ok ? await res.text() : null;
}

/** A pod as the API lists it, in what these tests read of it. */
export interface PodView {
  name: string;
  phase: string;
  nodeId: string | null;
  hostPorts: number[];
}
