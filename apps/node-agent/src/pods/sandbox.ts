/**
 * A pod's sandbox, as kubelet's pause container: one small container made before any other of the
 * pod, on its cluster's network, that holds the pod's network (and UTS) namespace — its address
 * (`status.podIP`), its published host ports, its resolver and hostname. Every container of the
 * pod, init containers too, joins it (`ContainerSpec.sandboxId`): they reach each other on
 * `localhost` and keep the pod's address when they restart.
 *
 * A sandbox is an engine container labelled like the pod's containers, with `berth.container`
 * "POD" (kubelet's name for it; no container of a pod can be named so: names are lowercase) and
 * kind "sandbox", one instance after another (`berth.restart-count` is its attempt). The agent
 * keeps nothing of it in memory: a new agent adopts the running one from its labels. When it dies,
 * the pod's containers are stopped (`SandboxChanged`) and, per the restart policy, started again —
 * init containers first — in a new one (kubelet's `computePodActions`; under `Never`, once a
 * container ran, no new sandbox is made). A dead sandbox is removed once no instance of the pod's
 * containers refers to it (the engine keeps the ones kept for their logs tied to it); the pod's
 * removal takes it last.
 */
import { type Assignment, CONTAINER_LABELS } from "@berth/protocol";
import { retryDelayMs, sandboxFailure } from "../pod-failures";
import { portsOf } from "../pod-spec";
import type { ContainerInfo, ContainerSpec } from "../runtime";
import { isRuntimeError } from "../runtime";
import type { PodContext, PodRecord } from "./context";
import { instancesOf, restartCountOf } from "./instances";
import { killInstance, MINIMUM_GRACE_SECONDS } from "./termination";

/** The sandbox's `berth.container` label. */
export const SANDBOX_CONTAINER = "POD";
/** What every node runs as its pods' sandboxes: catatonit in pause mode (infra/images/pause). */
export const SANDBOX_IMAGE = "localhost/berth/pause:latest";
/** The sandbox's memory limit: catatonit uses well under 1 MiB. */
const SANDBOX_MEMORY_BYTES = 16 * 1024 * 1024;

export const isSandbox = (c: ContainerInfo): boolean => c.labels[CONTAINER_LABELS.kind] === "sandbox";

/** What the pod's containers join now: a sandbox's id, null for a pod from before sandboxes, or nothing yet. */
export type SandboxStep = { id: string | null } | "wait";

/** The pod's newest sandbox instance, if any. */
export const currentSandbox = (cs: readonly ContainerInfo[]): ContainerInfo | null =>
  instancesOf(cs, SANDBOX_CONTAINER).current;

/**
 * The pod's containers that count now: those of its current sandbox (all of them for a pod
 * without one). An init container that succeeded in an earlier sandbox runs again in a new one.
 */
export function inCurrentSandbox(cs: readonly ContainerInfo[]): ContainerInfo[] {
  const sandbox = currentSandbox(cs);
  return sandbox ? cs.filter((c) => c.sandboxId === sandbox.id) : [...cs];
}

/** Brings the pod's sandbox up (or says why the containers wait), one step at a time. */
export async function ensureSandbox(ctx: PodContext, rec: PodRecord, a: Assignment): Promise<SandboxStep> {
  const current = currentSandbox(rec.containers);
  const others = rec.containers.filter((c) => !isSandbox(c));
  // A pod an agent started before sandboxes keeps running as it was (an upgrade restarts nothing).
  if (!current && others.length > 0 && others.every((c) => c.sandboxId === null)) return { id: null };
  if (current?.state === "running") {
    await removeUnused(ctx, rec);
    return { id: current.id };
  }
  if (current && current.state !== "created") {
    const stranded = others.filter((c) => c.sandboxId === current.id && c.state === "running");
    if (stranded.length > 0) {
      stopStranded(ctx, rec, a, current, stranded);
      return "wait";
    }
    // Kubelet's rule: under Never, once a container ran the pod ends with it; no new sandbox.
    if (a.restartPolicy === "Never" && others.length > 0) return "wait";
  }
  if ((rec.sandboxNotBefore ?? 0) > ctx.now()) return "wait";
  const attempt = current ? restartCountOf(current) + (current.state === "created" ? 0 : 1) : 0;
  // Created but never started (an agent stopped in between): made anew under the same name.
  const unstarted = current?.state === "created" ? current.id : null;
  if (unstarted) await ctx.runtime.remove(unstarted);
  try {
    const id = await createSandbox(ctx, a, attempt);
    // What runs in it is told from the pod's containers with the new sandbox among them.
    const made = await ctx.runtime.inspect(id);
    rec.containers = [...rec.containers.filter((c) => c.id !== unstarted), ...(made ? [made] : [])];
    rec.sandboxNotBefore = 0;
    rec.sandboxFailure = null;
    ctx.logger.info({ podId: a.podId, attempt, id: id.slice(0, 12) }, "pod sandbox started");
    return { id };
  } catch (error) {
    const failure = sandboxFailure(a.hostPorts, error);
    rec.sandboxFailure = failure;
    rec.sandboxNotBefore = ctx.now() + retryDelayMs(2);
    ctx.wake(rec, rec.sandboxNotBefore);
    ctx.events.add(a.podId, "Warning", "FailedCreatePodSandBox", failure.message);
    ctx.logger.warn({ podId: a.podId, err: failure.detail }, failure.message);
    return "wait";
  }
}

/** The engine's spec of the pod's sandbox: hardened, tiny, with the pod's host ports and network. */
export async function sandboxSpecOf(ctx: PodContext, a: Assignment, attempt: number): Promise<ContainerSpec> {
  const net = await ctx.podNetwork(a.namespace);
  return {
    name: attempt === 0 ? `berth-${a.podId}-sandbox` : `berth-${a.podId}-sandbox-r${attempt}`,
    image: SANDBOX_IMAGE,
    env: {},
    labels: {
      [CONTAINER_LABELS.node]: ctx.identity.nodeId,
      [CONTAINER_LABELS.cluster]: ctx.identity.clusterId,
      [CONTAINER_LABELS.installation]: ctx.identity.installationId,
      [CONTAINER_LABELS.pod]: a.podId,
      [CONTAINER_LABELS.container]: SANDBOX_CONTAINER,
      [CONTAINER_LABELS.podName]: a.name,
      [CONTAINER_LABELS.namespace]: a.namespace,
      [CONTAINER_LABELS.restartCount]: String(attempt),
      [CONTAINER_LABELS.kind]: "sandbox",
    },
    // Every container's host ports: they are all the pod's, published by what holds its namespace.
    ports: [...portsOf(a, ctx.publishAddress).values()].flat(),
    resources: { memoryBytes: SANDBOX_MEMORY_BYTES },
    hostname: (a.hostname ?? a.name).slice(0, 63),
    readOnlyRootFilesystem: true,
    ...(net ? { network: net.network } : {}),
  };
}

async function createSandbox(ctx: PodContext, a: Assignment, attempt: number): Promise<string> {
  await ctx.runtime.ensureImage(SANDBOX_IMAGE);
  const spec = await sandboxSpecOf(ctx, a, attempt);
  let id: string;
  try {
    id = await ctx.runtime.create(spec);
  } catch (error) {
    // One of that name left by a crash between create and the next look: replace it.
    if (!isRuntimeError(error, "CONFLICT")) throw error;
    await ctx.runtime.remove(spec.name);
    id = await ctx.runtime.create(spec);
  }
  await ctx.runtime.start(id);
  return id;
}

/** The sandbox died under running containers: they stop (gracefully), then start again in a new one. */
function stopStranded(
  ctx: PodContext,
  rec: PodRecord,
  a: Assignment,
  dead: ContainerInfo,
  stranded: ContainerInfo[],
): void {
  if (stranded.every((c) => rec.killing.has(c.id))) return;
  if (rec.sandboxChangeNoted !== dead.id) {
    rec.sandboxChangeNoted = dead.id;
    ctx.events.add(
      a.podId,
      "Normal",
      "SandboxChanged",
      "Pod sandbox changed, it will be killed and re-created.",
    );
    ctx.logger.warn({ podId: a.podId, sandbox: dead.id.slice(0, 12) }, "the pod's sandbox died");
  }
  ctx.detach(a.podId, "stopping containers of a dead sandbox", async () => {
    await Promise.all(stranded.map((c) => killInstance(ctx, rec, a, c)));
  });
}

/** Removes the pod's dead sandboxes that no instance of its containers refers to any more. */
async function removeUnused(ctx: PodContext, rec: PodRecord): Promise<void> {
  const current = currentSandbox(rec.containers);
  const used = new Set(rec.containers.map((c) => c.sandboxId));
  for (const s of rec.containers)
    if (isSandbox(s) && s !== current && !used.has(s.id) && s.state !== "running")
      await ctx.runtime.remove(s.id);
}

/**
 * Stops (and with `remove`, removes) the pod's sandboxes after its containers are gone: the
 * engine refuses to remove a sandbox while a container refers to it.
 */
export async function stopSandboxes(
  ctx: Pick<PodContext, "runtime">,
  sandboxes: readonly ContainerInfo[],
  remove: boolean,
): Promise<void> {
  if (remove) {
    for (const s of sandboxes) await ctx.runtime.remove(s.id);
    return;
  }
  const running = sandboxes.filter((s) => s.state === "running");
  await Promise.all(running.map((s) => ctx.runtime.stop(s.id, MINIMUM_GRACE_SECONDS)));
}
