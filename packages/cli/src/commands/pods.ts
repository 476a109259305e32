import type { Command } from "commander";
import { integer } from "../args";
import { CliError, UsageError } from "../errors";
import { execInteractive } from "../exec-socket";
import { parseDuration } from "../progress";
import type { Runtime } from "../runtime";

/**
 * A pod's name and its REST path in the cluster and namespace: `web-…`, `pod/web-…`, or as kubectl
 * does, `deployment/web` for one of the Deployment's pods (a running and ready one first).
 */
async function podRef(rt: Runtime, given: string) {
  const workload = /^(deployments?|deploy)\/(.+)$/.exec(given);
  const name = workload ? await podOfDeployment(rt, workload[2] ?? "") : given.replace(/^(pods?|po)\//, "");
  const path = `/v1/clusters/${await rt.clusterId()}/pods/${encodeURIComponent(rt.namespace())}/${encodeURIComponent(name)}`;
  return { name, path };
}

async function podOfDeployment(rt: Runtime, deployment: string): Promise<string> {
  const [client, clusterId, namespace] = [await rt.client(), await rt.clusterId(), rt.namespace()];
  const d = await client.deployments.get.query({ clusterId, namespace, name: deployment });
  const matchLabels =
    (d.spec.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels ?? {};
  const labelSelector = Object.entries(matchLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const { items } = await client.pods.list.query({ clusterId, namespace, labelSelector, limit: 500 });
  const pods = [...items].sort(
    (a, b) =>
      Number(b.phase === "Running" && b.ready) - Number(a.phase === "Running" && a.ready) ||
      a.name.localeCompare(b.name),
  );
  const chosen = pods[0];
  if (!chosen) throw new CliError(`deployment "${deployment}" has no pods`, 1, "NOT_FOUND");
  if (pods.length > 1) rt.note(`Found ${pods.length} pods, using pod/${chosen.name}`);
  return chosen.name;
}

interface LogOptions {
  container?: string;
  follow?: boolean;
  previous?: boolean;
  timestamps?: boolean;
  tail?: string;
  since?: string;
  limitBytes?: string;
}

interface ExecOptions {
  container?: string;
  stdin?: boolean;
  tty?: boolean;
  timeout?: string;
}

export function registerPods(program: Command, rt: Runtime): void {
  program
    .command("logs <pod|deployment/name>")
    .description("a container's log, streamed from its node")
    .option("-c, --container <name>", "the container (needed when the pod has several)")
    .option("-f, --follow", "keep printing lines as they are written, until the container ends")
    .option("-p, --previous", "the previous (terminated) instance of the container")
    .option("--timestamps", "prefix each line with its time")
    .option("--tail <lines>", "only the last lines")
    .option("--since <duration>", "only lines newer than this (e.g. 5m)")
    .option("--limit-bytes <n>", "at most this many bytes")
    .action(async (pod: string, o: LogOptions) => {
      const q = new URLSearchParams();
      if (o.container) q.set("container", o.container);
      if (o.follow) q.set("follow", "true");
      if (o.previous) q.set("previous", "true");
      if (o.timestamps) q.set("timestamps", "true");
      if (o.tail) q.set("tailLines", String(integer(o.tail, "--tail")));
      if (o.since) q.set("sinceSeconds", String(Math.max(1, Math.round(parseDuration(o.since) / 1000))));
      if (o.limitBytes) q.set("limitBytes", String(integer(o.limitBytes, "--limit-bytes")));
      const res = await rt.rest(`${(await podRef(rt, pod)).path}/log?${q}`);
      if (!res.body) return;
      for await (const chunk of res.body) rt.io.stdout.write(chunk);
    });

  program
    .command("exec <pod|deployment/name> [command...]")
    .description(
      "run a command in a pod's container (argv after --); -i/-t attach stdin and a terminal over the API's WebSocket",
    )
    .option("-c, --container <name>", "the container (needed when the pod has several)")
    .option("-i, --stdin", "pass stdin to the command")
    .option("-t, --tty", "give the command a terminal")
    .option("--timeout <duration>", "how long a command without -i/-t may run (default: the server's, 30s)")
    .action(async (pod: string, command: string[], o: ExecOptions) => {
      if (command.length === 0)
        throw new UsageError("exec needs a command: berth exec <pod> -- <command> [args...]");
      const { name, path } = await podRef(rt, pod);
      if (o.stdin || o.tty) {
        const q = new URLSearchParams();
        for (const arg of command) q.append("command", arg);
        q.set("stdout", "true");
        if (o.stdin) q.set("stdin", "true");
        if (o.tty) q.set("tty", "true");
        else q.set("stderr", "true");
        if (o.container) q.set("container", o.container);
        const server = (await rt.context()).server.replace(/^http/, "ws").replace(/\/$/, "");
        rt.exitCode = await execInteractive(rt.io, {
          url: `${server}${path}/exec?${q}`,
          token: await rt.accessToken(),
          stdin: o.stdin === true,
          tty: o.tty === true,
        });
        return;
      }
      const [client, clusterId] = [await rt.client(), await rt.clusterId()];
      const r = await client.pods.exec.mutate({
        clusterId,
        namespace: rt.namespace(),
        name,
        command,
        ...(o.container ? { container: o.container } : {}),
        ...(o.timeout ? { timeoutSeconds: Math.max(1, Math.round(parseDuration(o.timeout) / 1000)) } : {}),
      });
      rt.io.stdout.write(r.stdout);
      rt.io.stderr.write(r.stderr);
      if (r.truncated) rt.note("(output truncated by the server)");
      if (r.timedOut) throw new CliError("the command timed out");
      rt.exitCode = r.exitCode ?? 1;
    });
}
