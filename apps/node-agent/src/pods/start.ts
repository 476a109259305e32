/**
 * Starting one instance of a container, kubelet's `startContainer` step by step: the image per its
 * pull policy, the user it may run as, its mounts, create (`Created`), start (`Started`), then its
 * postStart hook — whose failure kills it (`FailedPostStartHook`). Each failure leaves the
 * container waiting with Kubernetes' reason and a back-off before the next attempt.
 */
import type { Assignment, ContainerTemplate, PodReason } from "@berth/protocol";
import { createFailure, PodFailure, pullDelayMs, retryDelayMs, startFailure } from "../pod-failures";
import { containerSpecOf, portsOf } from "../pod-spec";
import { runHook } from "../probes/hooks";
import { type ContainerRuntime, type ContainerSpec, isRuntimeError } from "../runtime";
import { VolumeError } from "../volumes/pod-volumes";
import { type ContainerMemo, type PodContext, type PodRecord, podRef } from "./context";
import { instanceName } from "./instances";
import { ContainerConfigError, containerUser, keptCapabilities } from "./security";
import { killInstance, targetOf } from "./termination";

export interface StartRequest {
  a: Assignment;
  t: ContainerTemplate;
  init: boolean;
  restartCount: number;
  volumes: Awaited<ReturnType<PodContext["volumes"]["prepare"]>>;
  /** The pod's sandbox it joins (sandbox.ts); null: a pod from before sandboxes joins the network itself. */
  sandboxId: string | null;
}

/** Creates and starts the instance; false (the memo says why) when it could not. */
export async function startInstance(
  ctx: PodContext,
  rec: PodRecord,
  memo: ContainerMemo,
  r: StartRequest,
): Promise<boolean> {
  const { a, t } = r;
  const emit = (
    type: "Normal" | "Warning",
    reason: Parameters<PodContext["events"]["add"]>[2],
    message: string,
  ) => ctx.events.add(a.podId, type, reason, message);
  try {
    try {
      await ctx.images.ensure(t, emit, memo.pullFailures);
    } catch (error) {
      if (!(error instanceof PodFailure)) throw error;
      memo.pullFailures += 1;
      throw new Retry(error, pullDelayMs(memo.pullFailures));
    }
    memo.pullFailures = 0;
    const spec = await specOf(ctx, r);
    const id = await create(ctx.runtime, spec).catch((error: unknown) => {
      throw new Retry(
        createFailure(t.name, error),
        retryDelayMs(memo.attempts + 1),
        "Error: could not create container",
      );
    });
    emit("Normal", "Created", `Created container ${t.name}`);
    await ctx.runtime.start(id).catch((error: unknown) => {
      const ports = (spec.ports ?? []).map((p) => p.hostPort);
      throw new Retry(
        startFailure(t.name, ports, error),
        retryDelayMs(memo.attempts + 1),
        `Error: failed to start container ${JSON.stringify(t.name)}`,
      );
    });
    emit("Normal", "Started", `Started container ${t.name}`);
    ctx.logger.info(
      { podId: a.podId, pod: a.name, container: t.name, restartCount: r.restartCount },
      "container started",
    );
    memo.waiting = null;
    memo.attempts = 0;
    memo.notBefore = 0;
    if (t.lifecycle?.postStart) runPostStart(ctx, rec, memo, a, t, id);
    return true;
  } catch (error) {
    if (!(error instanceof Retry)) throw error;
    memo.attempts +=
      error.failure.reason === "ErrImagePull" || error.failure.reason === "ImagePullBackOff" ? 0 : 1;
    memo.waiting = { reason: error.failure.reason, message: error.failure.message };
    memo.notBefore = ctx.now() + error.delayMs;
    ctx.wake(rec, memo.notBefore);
    if (error.event) emit("Warning", "Failed", error.event);
    ctx.logger.warn(
      {
        podId: a.podId,
        container: t.name,
        reason: error.failure.reason,
        err: error.failure.detail,
        retryInMs: error.delayMs,
      },
      error.failure.message,
    );
    return false;
  }
}

/** A failed step: what the container shows, when to try again, and the Failed event, if any. */
class Retry extends Error {
  constructor(
    readonly failure: PodFailure,
    readonly delayMs: number,
    readonly event?: string,
  ) {
    super(failure.message);
  }
}

async function specOf(ctx: PodContext, r: StartRequest): Promise<ContainerSpec> {
  const { a, t } = r;
  const fail = (reason: PodReason, message: string, delay = retryDelayMs(1)) =>
    new Retry(new PodFailure(reason, message, ""), delay, `Error: ${message}`);
  const image = await ctx.runtime.imageConfig(t.image);
  if (!image)
    throw fail("ErrImagePull", `could not pull image ${JSON.stringify(t.image)}: not found or not reachable`);
  ctx.images.note(t.image, image);
  let user: string;
  let mounts: Awaited<ReturnType<PodContext["volumes"]["mountsFor"]>>;
  try {
    user = containerUser(t, image, a.name);
    mounts = await ctx.volumes.mountsFor(a, t, r.volumes);
  } catch (error) {
    if (error instanceof ContainerConfigError || error instanceof VolumeError)
      throw fail("CreateContainerConfigError", error.message, 10_000);
    throw error;
  }
  // In a sandbox, the sandbox publishes the pod's ports and is on the network.
  const ports = r.init || r.sandboxId ? [] : (portsOf(a, ctx.publishAddress).get(t.name) ?? []);
  const fsGroup = t.securityContext.fsGroup;
  const net = await ctx.podNetwork(a.namespace);
  return containerSpecOf(a, t, ports, ctx.identity, {
    ...(net ? { serviceEnv: net.env } : {}),
    ...(r.sandboxId ? { sandboxId: r.sandboxId } : net ? { network: net.network } : {}),
    name: instanceName(a.podId, t.name, r.restartCount),
    restartCount: r.restartCount,
    init: r.init,
    user,
    groups: fsGroup !== undefined ? [fsGroup] : [],
    mounts,
    capabilities: keptCapabilities(t),
  });
}

async function create(runtime: ContainerRuntime, spec: ContainerSpec): Promise<string> {
  try {
    return await runtime.create(spec);
  } catch (error) {
    // A container of that name left by a crash between create and label: replace it.
    if (!isRuntimeError(error, "CONFLICT")) throw error;
    await runtime.remove(spec.name);
    return runtime.create(spec);
  }
}

/** Runs the postStart hook; until it ends the container shows as being created, and a failure kills it. */
function runPostStart(
  ctx: PodContext,
  rec: PodRecord,
  memo: ContainerMemo,
  a: Assignment,
  t: ContainerTemplate,
  id: string,
): void {
  const hook = t.lifecycle?.postStart;
  if (!hook) return;
  memo.postStartFor = id;
  ctx.detach(a.podId, "postStart hook", async () => {
    const info = await ctx.runtime.inspect(id);
    const failed = info
      ? await runHook(ctx.runtime, hook, targetOf(ctx, info), { container: t.name, pod: podRef(a) }, 300_000)
      : null;
    if (memo.postStartFor === id) memo.postStartFor = null;
    if (!failed || !info) return;
    ctx.events.add(a.podId, "Warning", "FailedPostStartHook", failed);
    memo.waiting = { reason: "PostStartHookError", message: failed };
    await killInstance(ctx, rec, a, info, { message: "FailedPostStartHook" });
  });
}
