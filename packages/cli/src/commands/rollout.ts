import type { Inputs } from "@berth/sdk";
import type { Command } from "commander";
import { integer } from "../args";
import { CliError, UsageError } from "../errors";
import { arr, at, type Json, num, str } from "../json";
import { table } from "../output";
import { parseDuration, waitFor } from "../progress";
import type { Runtime } from "../runtime";

/** What `deployments.upsert` takes; a Deployment as read is one (server-owned fields are ignored). */
type DeploymentManifest = Inputs["deployments"]["upsert"]["manifest"];

/** `deployment/web`, `deploy/web` or `deployment web`: a Deployment's name. */
function deploymentName(kindOrRef: string, name: string | undefined): string {
  const [kind, fromRef] = kindOrRef.includes("/") ? kindOrRef.split("/", 2) : [kindOrRef, name];
  if (!["deployment", "deployments", "deploy"].includes(kind?.toLowerCase() ?? ""))
    throw new UsageError(`only deployments roll out and scale here, not "${kind}"`);
  if (!fromRef) throw new UsageError("a deployment's name is needed: deployment/<name>");
  return fromRef;
}

/**
 * kubectl's rollout status of a Deployment: done when the controller has seen the newest spec and
 * every replica is updated and available; a `ProgressDeadlineExceeded` condition is a failure.
 */
export function rolloutState(d: Json): { done: boolean; state: string; failed?: string } {
  const name = str(at(d, "metadata.name"));
  if (num(at(d, "status.observedGeneration")) < num(at(d, "metadata.generation")))
    return { done: false, state: "waiting for the deployment spec update to be observed" };
  const progressing = arr(at(d, "status.conditions")).find((c) => c.type === "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded")
    return { done: false, state: "failed", failed: `deployment "${name}" exceeded its progress deadline` };
  const want = num(at(d, "spec.replicas"));
  const updated = num(at(d, "status.updatedReplicas"));
  const total = num(at(d, "status.replicas"));
  const available = num(at(d, "status.availableReplicas"));
  if (updated < want)
    return { done: false, state: `${updated} out of ${want} new replicas have been updated` };
  if (total > updated)
    return { done: false, state: `${total - updated} old replicas are pending termination` };
  if (available < updated)
    return { done: false, state: `${available} of ${updated} updated replicas are available` };
  return { done: true, state: "successfully rolled out" };
}

/** Waits (with progress) until a Deployment has rolled out, or fails as its rollout does. */
export async function waitForRollout(
  rt: Runtime,
  namespace: string,
  name: string,
  timeout: string,
): Promise<void> {
  const [client, clusterId] = [await rt.client(), await rt.clusterId()];
  await waitFor(rt, {
    what: `deployment "${name}" rollout`,
    timeoutMs: parseDuration(timeout),
    probe: async () => {
      const d = (await client.deployments.get.query({ clusterId, namespace, name })) as Json;
      return { ...rolloutState(d), value: d };
    },
  });
}

export function registerRollout(program: Command, rt: Runtime): void {
  const ref = async () => ({ clusterId: await rt.clusterId(), namespace: rt.namespace() });
  const rollout = program
    .command("rollout")
    .description("a Deployment's rollouts: status, history, undo, pause, resume");

  rollout
    .command("status <deployment> [name]")
    .description("wait until the rollout is done (or fails), printing its progress")
    .option("--timeout <duration>", "how long to wait", "5m")
    .option("--no-watch", "print the state once, do not wait")
    .action(async (kind: string, n: string | undefined, o: { timeout: string; watch: boolean }) => {
      const name = deploymentName(kind, n);
      if (!o.watch) {
        const s = rolloutState(
          (await (await rt.client()).deployments.get.query({ ...(await ref()), name })) as Json,
        );
        if (s.failed) throw new CliError(s.failed);
        rt.print(`deployment "${name}" ${s.done ? s.state : `rollout: ${s.state}`}`);
        if (!s.done) rt.exitCode = 1;
        return;
      }
      await waitForRollout(rt, rt.namespace(), name, o.timeout);
      rt.print(`deployment "${name}" successfully rolled out`);
    });

  rollout
    .command("history <deployment> [name]")
    .description("the deployment's revisions, newest first")
    .action(async (kind: string, n: string | undefined) => {
      const name = deploymentName(kind, n);
      const h = await (await rt.client()).deployments.revisions.query({ ...(await ref()), name });
      rt.print(`deployment.apps/${name}`);
      rt.print(
        table(
          ["revision", "change-cause", "pods", "current"],
          h.items.map((r) => [r.revision, r.changeCause ?? "<none>", r.pods, r.current ? "*" : ""]),
        ),
      );
    });

  rollout
    .command("undo <deployment> [name]")
    .description("roll back to the previous revision, or --to-revision")
    .option("--to-revision <n>", "the revision to go back to (0: the previous one)")
    .action(async (kind: string, n: string | undefined, o: { toRevision?: string }) => {
      const name = deploymentName(kind, n);
      const r = await (await rt.client()).deployments.rollback.mutate({
        ...(await ref()),
        name,
        ...(o.toRevision ? { toRevision: integer(o.toRevision, "--to-revision") } : {}),
      });
      rt.print(r.message);
    });

  for (const verb of ["pause", "resume"] as const)
    rollout
      .command(`${verb} <deployment> [name]`)
      .description(
        verb === "pause" ? "start no rollout step until resumed (scaling goes on)" : "go on rolling out",
      )
      .action(async (kind: string, n: string | undefined) => {
        const name = deploymentName(kind, n);
        await (await rt.client()).deployments[verb].mutate({ ...(await ref()), name });
        rt.print(`deployment.apps/${name} ${verb}d`);
      });

  program
    .command("scale <deployment> [name]")
    .description(
      "set a Deployment's replicas (a read, then a write that fails if the deployment changed meanwhile)",
    )
    .requiredOption("--replicas <n>", "the replicas wanted")
    .option("--current-replicas <n>", "only if it has this many now")
    .action(
      async (kind: string, n: string | undefined, o: { replicas: string; currentReplicas?: string }) => {
        const name = deploymentName(kind, n);
        const replicas = integer(o.replicas, "--replicas");
        const client = await rt.client();
        const where = { ...(await ref()), name };
        const d = (await client.deployments.get.query(where)) as Json;
        if (
          o.currentReplicas !== undefined &&
          num(at(d, "spec.replicas")) !== integer(o.currentReplicas, "--current-replicas")
        )
          throw new CliError(
            `expected ${o.currentReplicas} replicas, deployment "${name}" has ${num(at(d, "spec.replicas"))}`,
            1,
            "CONFLICT",
          );
        // The object as read, with its resourceVersion: a change meanwhile makes the write a 409.
        const manifest = { ...d, spec: { ...(d.spec as Json), replicas } };
        await client.deployments.upsert.mutate({ ...where, manifest: manifest as DeploymentManifest });
        rt.print(`deployment.apps/${name} scaled`);
      },
    );
}
