import { type Command, Option } from "commander";
import { collect, integer, keyValues, taint } from "../args";
import { type Json, str } from "../json";
import { formatOf, outputOption } from "../options";
import { parseDuration, waitFor } from "../progress";
import { clusters, joinTokens, nodeId, nodePools, nodes } from "../resources/platform";
import type { Runtime } from "../runtime";
import { show } from "./show";

type OutputOpts = { output?: string };

/** Waits until the cluster reaches `until` (or fails), showing its status and the time so far. */
function waitForCluster(
  rt: Runtime,
  id: string,
  until: "active" | "deleted",
  timeout: string,
): Promise<Json> {
  return waitFor(rt, {
    what: `cluster ${id}`,
    timeoutMs: parseDuration(timeout),
    probe: async () => {
      const c = (await (await rt.client()).clusters.get.query({ clusterId: id })) as Json;
      const state = str(c.status);
      return {
        done: state === until,
        state,
        value: c,
        ...(state === "failed" ? { failed: `failed: ${str(c.statusReason, "no reason given")}` } : {}),
      };
    },
  });
}

function registerClusterCommands(program: Command, rt: Runtime): void {
  const cmd = program
    .command("clusters")
    .alias("cluster")
    .description("create, list, inspect and delete clusters");
  cmd
    .command("create <name>")
    .description("create a cluster and wait (with progress) until its control plane is active")
    .option("--tag <key=value>", "a tag (repeatable)", collect)
    .option("--no-wait", "return once the cluster is accepted (provisioning)")
    .option("--timeout <duration>", "how long to wait", "10m")
    .addOption(outputOption())
    .action(async (name: string, o: OutputOpts & { tag?: string[]; wait: boolean; timeout: string }) => {
      const client = await rt.client();
      const tags = keyValues(o.tag, "--tag");
      const created = (await client.clusters.create.mutate({ name, ...(o.tag ? { tags } : {}) })) as Json;
      rt.note(`cluster/${name} created (${str(created.id)})`);
      const cluster = o.wait ? await waitForCluster(rt, str(created.id), "active", o.timeout) : created;
      show(rt, clusters, [cluster], formatOf(o), true);
    });
  cmd
    .command("list")
    .alias("ls")
    .description("the account's clusters")
    .addOption(outputOption())
    .action(async (o: OutputOpts) => show(rt, clusters, await clusters.list(rt, {}), formatOf(o)));
  cmd
    .command("get <name|id>")
    .description("one cluster")
    .addOption(outputOption())
    .action(async (name: string, o: OutputOpts) =>
      show(rt, clusters, [await clusters.get(rt, { namespace: "", name })], formatOf(o), true),
    );
  cmd
    .command("delete <name|id>")
    .description("delete a cluster: its pods stop, machines terminate, nodes leave")
    .option("--wait", "wait until it is deleted")
    .option("--timeout <duration>", "how long to wait", "10m")
    .action(async (name: string, o: { wait?: boolean; timeout: string }) => {
      const cluster = await clusters.get(rt, { namespace: "", name });
      await (await rt.client()).clusters.delete.mutate({ clusterId: str(cluster.id) });
      rt.print(`cluster/${str(cluster.name)} deleting`);
      if (o.wait) await waitForCluster(rt, str(cluster.id), "deleted", o.timeout);
    });
  cmd
    .command("rotate-key <name|id>")
    .description("give the cluster a new signing key (agents are re-credentialed)")
    .action(async (name: string) => {
      const cluster = await clusters.get(rt, { namespace: "", name });
      await (await rt.client()).clusters.rotateKey.mutate({ clusterId: str(cluster.id) });
      rt.print(`cluster/${str(cluster.name)} key rotation started`);
    });
}

function registerNodePoolCommands(program: Command, rt: Runtime): void {
  const cmd = program.command("node-pools").alias("np").description("the cluster's node pools");
  cmd
    .command("create <name>")
    .description(
      "add a pool: ec2 launches instances, local-vm QEMU VMs on the provisioner's host, byo takes nodes that join with its tokens",
    )
    .addOption(
      new Option("--provider <provider>", "where its machines come from")
        .choices(["ec2", "local-vm", "byo"])
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("--instance-type <type>", "machine size").choices(["small", "medium", "large", "gpu"]),
    )
    .option("--min <n>", "fewest machines")
    .option("--max <n>", "most machines")
    .option("--desired <n>", "machines wanted now (byo: 0; with --autoscale: --min)")
    .option("--autoscale", "let the node autoscaler size it within --min..--max (ec2)")
    .option("--priority <n>", "its rank for the cluster's priority expander")
    .option("--label <key=value>", "a label of its nodes (repeatable)", collect)
    .option("--taint <key=value:Effect>", "a taint of its nodes (repeatable)", collect)
    .option("--zone <zone>", "the zone of a byo pool's nodes")
    .addOption(outputOption())
    .action(async (name: string, o: Record<string, string | string[] | undefined> & OutputOpts) => {
      const [client, clusterId] = [await rt.client(), await rt.clusterId()];
      const pool = (await client.nodePools.create.mutate({
        clusterId,
        name,
        provider: o.provider as "ec2" | "local-vm" | "byo",
        ...(o.instanceType ? { instanceType: o.instanceType as string } : {}),
        ...(o.min ? { minSize: integer(o.min as string, "--min") } : {}),
        ...(o.max ? { maxSize: integer(o.max as string, "--max") } : {}),
        ...(o.desired || !o.autoscale
          ? { desiredSize: integer((o.desired as string) ?? "0", "--desired") }
          : {}),
        ...(o.autoscale || o.priority
          ? {
              autoscaling: {
                enabled: Boolean(o.autoscale),
                ...(o.priority ? { priority: integer(o.priority as string, "--priority") } : {}),
              },
            }
          : {}),
        ...(o.label ? { labels: keyValues(o.label as string[], "--label") } : {}),
        ...(o.taint ? { taints: (o.taint as string[]).map(taint) } : {}),
        ...(o.zone ? { zone: o.zone as string } : {}),
      })) as Json;
      show(rt, nodePools, [pool], formatOf(o), true);
    });
  cmd
    .command("list")
    .alias("ls")
    .addOption(outputOption())
    .action(async (o: OutputOpts) => show(rt, nodePools, await nodePools.list(rt, {}), formatOf(o)));
  cmd
    .command("get <name|id>")
    .addOption(outputOption())
    .action(async (name: string, o: OutputOpts) =>
      show(rt, nodePools, [await nodePools.get(rt, { namespace: "", name })], formatOf(o), true),
    );
  cmd
    .command("scale <name|id>")
    .description("change a pool's sizes; the provisioner launches or drains machines to match")
    .option("--desired <n>", "machines wanted")
    .option("--min <n>", "fewest machines")
    .option("--max <n>", "most machines")
    .option("--autoscale", "hand its size to the node autoscaler")
    .option("--no-autoscale", "take its size back (it stays where it is until --desired)")
    .action(
      async (name: string, o: { desired?: string; min?: string; max?: string; autoscale?: boolean }) => {
        const [client, clusterId] = [await rt.client(), await rt.clusterId()];
        const pool = await nodePools.get(rt, { namespace: "", name });
        await client.nodePools.update.mutate({
          clusterId,
          poolId: str(pool.id),
          ...(o.desired ? { desiredSize: integer(o.desired, "--desired") } : {}),
          ...(o.min ? { minSize: integer(o.min, "--min") } : {}),
          ...(o.max ? { maxSize: integer(o.max, "--max") } : {}),
          ...(o.autoscale !== undefined ? { autoscaling: { enabled: o.autoscale } } : {}),
        });
        rt.print(`nodepool/${str(pool.name)} scaled`);
      },
    );
  cmd
    .command("delete <name|id>")
    .description("drain the pool's nodes, then terminate its machines")
    .action(async (name: string) => {
      await nodePools.delete?.(rt, { namespace: "", name });
      rt.print(`nodepool/${name} deleting`);
    });
}

function registerNodeCommands(program: Command, rt: Runtime): void {
  const verbs = {
    cordon: "mark a node unschedulable",
    uncordon: "mark a node schedulable again (ends a drain)",
    drain: "cordon a node and evict its pods as their PodDisruptionBudgets allow",
  } as const;
  const cmd = program.command("nodes").alias("node").description("the cluster's nodes");
  cmd
    .command("list")
    .alias("ls")
    .addOption(outputOption())
    .action(async (o: OutputOpts) => show(rt, nodes, await nodes.list(rt, {}), formatOf(o)));
  for (const [verb, description] of Object.entries(verbs) as [keyof typeof verbs, string][]) {
    const action = async (name: string) => {
      const [client, clusterId] = [await rt.client(), await rt.clusterId()];
      const r = await client.nodes[verb].mutate({ clusterId, nodeId: await nodeId(rt, name) });
      const moving = "podsToMove" in r ? ` (${String(r.podsToMove)} pods to move)` : "";
      rt.print(
        `node/${r.name} ${verb === "uncordon" ? "uncordoned" : verb === "drain" ? "draining" : "cordoned"}${moving}`,
      );
    };
    cmd.command(`${verb} <node>`).description(description).action(action);
    program.command(`${verb} <node>`).description(`${description} (= berth nodes ${verb})`).action(action);
  }
}

function registerJoinTokenCommands(program: Command, rt: Runtime): void {
  const cmd = program
    .command("join-tokens")
    .alias("join-token")
    .description("tokens nodes join the cluster with");
  cmd
    .command("create")
    .description("a token for nodes to join with (30 minutes and one node unless asked)")
    .option("--ttl <duration>", "how long it admits nodes (e.g. 30m, 2h)")
    .option("--pool <name|id>", "a byo pool whose labels and taints its nodes get")
    .option("--max-uses <n|unlimited>", "how many nodes may join with it")
    .option("--description <text>", "what it is for")
    .addOption(outputOption())
    .action(
      async (o: OutputOpts & { ttl?: string; pool?: string; maxUses?: string; description?: string }) => {
        const [client, clusterId] = [await rt.client(), await rt.clusterId()];
        const pool = o.pool ? await nodePools.get(rt, { namespace: "", name: o.pool }) : undefined;
        const token = (await client.clusters.createJoinToken.mutate({
          clusterId,
          ...(o.ttl ? { ttlSeconds: Math.round(parseDuration(o.ttl) / 1000) } : {}),
          ...(pool ? { poolId: str(pool.id) } : {}),
          ...(o.maxUses
            ? { maxUses: o.maxUses === "unlimited" ? null : integer(o.maxUses, "--max-uses") }
            : {}),
          ...(o.description ? { description: o.description } : {}),
        })) as Json;
        const format = formatOf(o);
        if (format === "json" || format === "yaml") return show(rt, joinTokens, [token], format, true);
        rt.print(str(token.token));
        rt.note(`expires ${str(token.expiresAt)}; on the node, as root: ${str(token.installCommand)}`);
      },
    );
  cmd
    .command("list")
    .alias("ls")
    .addOption(outputOption())
    .action(async (o: OutputOpts) => show(rt, joinTokens, await joinTokens.list(rt, {}), formatOf(o)));
  cmd
    .command("revoke <id>")
    .description("no node joins with it any more")
    .action(async (id: string) => {
      await joinTokens.delete?.(rt, { namespace: "", name: id });
      rt.print(`jointoken/${id} revoked`);
    });
}

export function registerClusters(program: Command, rt: Runtime): void {
  registerClusterCommands(program, rt);
  registerNodePoolCommands(program, rt);
  registerNodeCommands(program, rt);
  registerJoinTokenCommands(program, rt);
}
