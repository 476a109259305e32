/**
 * One step of one pod towards what it should be, in the order kubelet's SyncPod takes:
 *
 * 1. a pod to stop (deleted, moved, evicted) has all its containers stopped gracefully at once,
 *    then removed with its volumes; a finished (terminal) pod only has what still runs stopped;
 * 2. its volumes are made or brought up to date (a changed ConfigMap's files, in place);
 * 2b. its sandbox (sandbox.ts) runs, or is made; a dead one has the containers stopped first;
 * 3. init containers run one at a time, in order, each to exit 0 (a failed one restarts with
 *    back-off, or under restartPolicy Never fails the pod); the app containers wait for them;
 * 4. each app container: started if it has no instance; a running one gets its probes, and is
 *    killed when its liveness or startup probe fails for good; an exited one is restarted per the
 *    restart policy with kubelet's back-off (CrashLoopBackOff while it waits).
 */
import { type Assignment, CONTAINER_LABELS, type ContainerTemplate } from "@berth/protocol";
import { PodFailure, retryDelayMs } from "../pod-failures";
import { ProbeSet } from "../probes/worker";
import type { ContainerInfo } from "../runtime";
import { VolumeError } from "../volumes/pod-volumes";
import { goDuration } from "./backoff";
import { type ContainerMemo, memoOf, type PodContext, type PodRecord, podRef } from "./context";
import { hasEnded, instancesOf, restartCountOf } from "./instances";
import { ensureSandbox, inCurrentSandbox, isSandbox } from "./sandbox";
import { startInstance } from "./start";
import { killInstance, targetOf, terminatePod } from "./termination";

type Volumes = Awaited<ReturnType<PodContext["volumes"]["prepare"]>>;

/** Brings a pod that should run one step closer to it. */
export async function syncRunningPod(ctx: PodContext, rec: PodRecord, a: Assignment): Promise<void> {
  if (a.terminal) {
    if (rec.containers.some((c) => c.state === "running" && !rec.killing.has(c.id)))
      ctx.detach(a.podId, "stopping a finished pod", () => terminatePod(ctx, rec, a, { remove: false }));
    return;
  }
  const volumes = await prepareVolumes(ctx, rec, a);
  if (!volumes) return;
  for (const old of rec.containers) {
    if (isSandbox(old)) continue; // sandbox.ts removes those no instance refers to
    const name = old.labels[CONTAINER_LABELS.container] ?? "";
    if (instancesOf(rec.containers, name).older.some((c) => c.id === old.id))
      await ctx.runtime.remove(old.id);
  }
  const sandbox = await ensureSandbox(ctx, rec, a);
  if (sandbox === "wait") return;
  const where = { volumes, sandboxId: sandbox.id };
  if (!(await runInitContainers(ctx, rec, a, where))) return;
  for (const t of a.containers) await stepContainer(ctx, rec, a, t, false, where);
}

async function prepareVolumes(ctx: PodContext, rec: PodRecord, a: Assignment): Promise<Volumes | null> {
  if (rec.notBefore > ctx.now()) return null;
  try {
    const volumes = await ctx.volumes.prepare(a);
    rec.failure = null;
    for (const m of ctx.volumes.takeMounted(a.podId))
      ctx.events.add(a.podId, "Normal", "SuccessfulMountVolume", m);
    return volumes;
  } catch (error) {
    if (!(error instanceof VolumeError)) throw error;
    const first = rec.failure === null;
    rec.failure = new PodFailure("ContainerCreating", error.message, "");
    rec.notBefore = ctx.now() + retryDelayMs(first ? 2 : 5);
    ctx.wake(rec, rec.notBefore);
    ctx.events.add(a.podId, "Warning", "FailedMount", error.message);
    ctx.logger.warn({ podId: a.podId, err: error.message }, "could not set up the pod's volumes");
    return null;
  }
}

/**
 * Whether the pod is initialized (every init container exited 0, or an app container already ran)
 * in its current sandbox: a new sandbox runs the init containers again, as kubelet does.
 */
export function initialized(a: Assignment, all: readonly ContainerInfo[]): boolean {
  const containers = inCurrentSandbox(all);
  if (
    containers.some(
      (c) =>
        c.labels[CONTAINER_LABELS.kind] !== "init" &&
        a.containers.some((t) => t.name === c.labels[CONTAINER_LABELS.container]),
    )
  )
    return true;
  return a.initContainers.every((t) => {
    const cur = instancesOf(containers, t.name).current;
    return cur !== null && hasEnded(cur) && cur.exitCode === 0;
  });
}

/** Where a pod's containers start: with its volumes, in its sandbox (null: a pod from before sandboxes). */
interface Place {
  volumes: Volumes;
  sandboxId: string | null;
}

/** Whether the instance ran in another sandbox than the pod's current one. */
const moved = (c: ContainerInfo, p: Place): boolean => p.sandboxId !== null && c.sandboxId !== p.sandboxId;

async function runInitContainers(ctx: PodContext, rec: PodRecord, a: Assignment, p: Place): Promise<boolean> {
  if (initialized(a, rec.containers)) return true;
  for (const t of a.initContainers) {
    const cur = instancesOf(rec.containers, t.name).current;
    if (cur && hasEnded(cur) && cur.exitCode === 0 && !moved(cur, p)) continue;
    await stepContainer(ctx, rec, a, t, true, p);
    return false; // one at a time: the next waits for this one to succeed
  }
  return true;
}

/**
 * Kubelet's rule: whether an exited container runs again. Init containers restart unless Never;
 * in a new sandbox every container starts again but one that succeeded under OnFailure.
 */
function shouldRestart(
  a: Assignment,
  c: ContainerInfo,
  memo: ContainerMemo,
  init: boolean,
  inNewSandbox: boolean,
): boolean {
  if (a.restartPolicy === "Never") return false;
  if (inNewSandbox) return init || a.restartPolicy !== "OnFailure" || c.exitCode !== 0;
  if (memo.restartAfterKill === c.id) return true;
  if (init || a.restartPolicy === "OnFailure") return c.exitCode !== 0;
  return true;
}

async function stepContainer(
  ctx: PodContext,
  rec: PodRecord,
  a: Assignment,
  t: ContainerTemplate,
  init: boolean,
  p: Place,
): Promise<void> {
  const memo = memoOf(rec, t.name);
  const { current } = instancesOf(rec.containers, t.name);
  if (current && rec.killing.has(current.id)) return;
  const start = (restartCount: number) => startInstance(ctx, rec, memo, { a, t, init, restartCount, ...p });
  if (!current) {
    if (memo.notBefore <= ctx.now()) await start(0);
    return;
  }
  if (current.state === "created") {
    // Created but never started (an agent stopped in between, or a start that failed): start anew.
    if (memo.notBefore > ctx.now()) return;
    await ctx.runtime.remove(current.id);
    await start(restartCountOf(current));
    return;
  }
  if (current.state === "running") {
    keepProbing(ctx, rec, memo, a, t, current, init);
    return;
  }
  if (!hasEnded(current)) return;
  stopProbing(memo);
  if (!shouldRestart(a, current, memo, init, moved(current, p))) {
    memo.waiting = null;
    return;
  }
  const key = `${a.podId}/${t.name}`;
  const finished = Date.parse(current.finishedAt ?? "") || ctx.now();
  if (ctx.backoff.inBackOffSince(key, finished)) {
    const message = `back-off ${goDuration(ctx.backoff.get(key))} restarting failed container=${t.name} pod=${podRef(a)}`;
    memo.waiting = { reason: "CrashLoopBackOff", message };
    if (memo.backOffNotedFor !== current.id) {
      memo.backOffNotedFor = current.id;
      ctx.events.add(
        a.podId,
        "Warning",
        "BackOff",
        `Back-off restarting failed container ${t.name} in pod ${podRef(a)}`,
      );
    }
    ctx.wake(rec, ctx.backoff.until(key, finished));
    return;
  }
  if (memo.notBefore > ctx.now()) return;
  ctx.backoff.next(key, finished);
  if (await start(restartCountOf(current) + 1)) memo.restartAfterKill = null;
}

/** Probes every running app container that has none yet (those just started). */
export function probeRunning(ctx: PodContext, rec: PodRecord, a: Assignment): void {
  if (a.terminal) return;
  for (const t of a.containers) {
    const { current } = instancesOf(rec.containers, t.name);
    if (current?.state === "running" && !rec.killing.has(current.id))
      keepProbing(ctx, rec, memoOf(rec, t.name), a, t, current, false);
  }
}

function stopProbing(memo: ContainerMemo): void {
  memo.probes?.stop();
  memo.probes = null;
  memo.probesFor = null;
}

/** A running instance: its probes run (once its postStart hook is done); a failed liveness or startup probe kills it. */
function keepProbing(
  ctx: PodContext,
  rec: PodRecord,
  memo: ContainerMemo,
  a: Assignment,
  t: ContainerTemplate,
  c: ContainerInfo,
  init: boolean,
): void {
  if (init || memo.postStartFor === c.id) return;
  if (memo.probesFor !== c.id) {
    stopProbing(memo);
    memo.probesFor = c.id;
    memo.probes = new ProbeSet({
      runtime: ctx.runtime,
      target: targetOf(ctx, c),
      startedAt: Date.parse(c.startedAt ?? "") || ctx.now(),
      probes: { readiness: t.readinessProbe, liveness: t.livenessProbe, startup: t.startupProbe },
      now: ctx.now,
      onChange: ctx.changed,
      onFailure: () => ctx.enqueue(a.podId),
      onEvent: (type, reason, message) => ctx.events.add(a.podId, type, reason, message),
      initial: ctx.inheritedProbes.get(c.id),
    });
    ctx.inheritedProbes.delete(c.id);
  }
  const failed = memo.probes?.failed;
  if (!failed) return;
  const restart = a.restartPolicy !== "Never";
  memo.restartAfterKill = restart ? c.id : null;
  const message = `Container ${t.name} failed ${failed.kind} probe${restart ? ", will be restarted" : ""}`;
  const grace = failed.probe.terminationGracePeriodSeconds;
  ctx.detach(a.podId, `${failed.kind} probe kill`, () =>
    killInstance(ctx, rec, a, c, { message, ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}) }),
  );
}
