/**
 * Stopping containers as kubelet's `killContainer` does: a `Killing` event, the `preStop` hook
 * (given at most the grace period), then the engine's stop — SIGTERM (the image's STOPSIGNAL),
 * SIGKILL when what is left of the grace period has passed, but never less than 2 s after the
 * hook. The grace period is the pod's `terminationGracePeriodSeconds`, or a probe's own when a
 * liveness or startup failure is the reason. A pod being removed has all its containers stopped at
 * once, then removed with its volumes.
 */
import { type Assignment, CONTAINER_LABELS } from "@berth/protocol";
import type { CheckTarget } from "../probes/check";
import { runHook } from "../probes/hooks";
import type { ContainerInfo } from "../runtime";
import { type PodContext, type PodRecord, podRef } from "./context";
import { isSandbox, stopSandboxes } from "./sandbox";

/** Kubelet's minimumGracePeriodInSeconds: what SIGTERM always gets. */
export const MINIMUM_GRACE_SECONDS = 2;

/** Where checks and hooks of an instance go (probes/check.ts says why its own address). */
export function targetOf(ctx: Pick<PodContext, "publishAddress">, c: ContainerInfo): CheckTarget {
  const published = new Map<number, { host: string; port: number }>();
  for (const p of c.ports)
    if (p.protocol === "tcp")
      published.set(p.containerPort, { host: p.hostIp || ctx.publishAddress, port: p.hostPort });
  return { containerId: c.id, address: c.ipAddress, published, podAddress: ctx.publishAddress };
}

/**
 * A deleted pod drains first, within its grace period, as a preStop `sleep` would: its clients'
 * connections in flight finish and no new one reaches it once it gets SIGTERM. Resolves with the
 * grace period left for its stop (nothing to override when it did not wait).
 */
export async function drainFirst(
  podId: string,
  a: Assignment,
  drain: (podId: string, maxMs: number) => Promise<number>,
): Promise<{ gracePeriodSeconds?: number }> {
  const total = a.terminationGracePeriodSeconds;
  const waited = await drain(podId, Math.max(0, total - MINIMUM_GRACE_SECONDS) * 1000);
  return waited > 0 ? { gracePeriodSeconds: Math.max(0, total - Math.ceil(waited / 1000)) } : {};
}

export interface KillOptions {
  /** The Killing event's message (kubelet's: `Stopping container web`, `Container web failed liveness probe, will be restarted`). */
  message?: string;
  /** Overrides the pod's grace period (a probe's terminationGracePeriodSeconds). */
  gracePeriodSeconds?: number;
}

/** Stops one running instance gracefully; a second call for the same instance waits for the first. */
export function killInstance(
  ctx: PodContext,
  rec: PodRecord,
  a: Assignment | undefined,
  c: ContainerInfo,
  opts: KillOptions = {},
): Promise<void> {
  const inFlight = rec.killing.get(c.id);
  if (inFlight) return inFlight;
  const name = c.labels[CONTAINER_LABELS.container] ?? c.name;
  const memo = rec.memos.get(name);
  memo?.probes?.stop();
  if (memo) {
    memo.probes = null;
    memo.probesFor = null;
  }
  const run = (async () => {
    const t = a ? [...a.initContainers, ...a.containers].find((x) => x.name === name) : undefined;
    let grace = opts.gracePeriodSeconds ?? a?.terminationGracePeriodSeconds ?? ctx.stopTimeoutSeconds;
    if (a) {
      ctx.events.add(a.podId, "Normal", "Killing", opts.message ?? `Stopping container ${name}`);
      const preStop = t?.lifecycle?.preStop;
      if (preStop && grace > 0) {
        const began = ctx.now();
        const failed = await runHook(
          ctx.runtime,
          preStop,
          targetOf(ctx, c),
          { container: name, pod: podRef(a) },
          grace * 1000,
        );
        if (failed) ctx.events.add(a.podId, "Warning", "FailedPreStopHook", failed);
        grace -= Math.floor((ctx.now() - began) / 1000);
      }
    }
    await ctx.runtime.stop(c.id, Math.max(grace, MINIMUM_GRACE_SECONDS));
    ctx.logger.info({ podId: rec.podId, container: name, id: c.id.slice(0, 12) }, "container stopped");
  })().finally(() => rec.killing.delete(c.id));
  rec.killing.set(c.id, run);
  return run;
}

/**
 * Stops every running container of the pod at once (each with its hook and grace period), then its
 * sandbox. With `remove`, then removes them all (the sandbox last) and the pod's volumes: the pod
 * is gone from the node.
 */
export async function terminatePod(
  ctx: PodContext,
  rec: PodRecord,
  a: Assignment | undefined,
  opts: { remove: boolean; gracePeriodSeconds?: number },
): Promise<void> {
  const all = await ctx.runtime.list({
    [CONTAINER_LABELS.node]: ctx.identity.nodeId,
    [CONTAINER_LABELS.pod]: rec.podId,
  });
  const sandboxes = all.filter(isSandbox);
  const list = all.filter((c) => !isSandbox(c));
  for (const m of rec.memos.values()) {
    m.probes?.stop();
    m.probes = null;
    m.probesFor = null;
  }
  await Promise.all(
    list
      .filter((c) => c.state === "running" || c.state === "paused" || c.state === "restarting")
      .map((c) =>
        killInstance(
          ctx,
          rec,
          a,
          c,
          opts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {},
        ),
      ),
  );
  await stopSandboxes(ctx, sandboxes, false);
  if (!opts.remove) return;
  for (const c of list) await ctx.runtime.remove(c.id);
  await stopSandboxes(ctx, sandboxes, true);
  await ctx.volumes.teardown(rec.podId);
  ctx.backoff.forget(`${rec.podId}/`);
  ctx.logger.info({ podId: rec.podId, containers: list.length }, "pod stopped");
}
