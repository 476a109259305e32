import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemRows } from "@berth/db/testing";
import { installationId } from "@berth/node-agent/state";
import { CONTAINER_LABELS } from "@berth/protocol";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containersOf, engine } from "../e2e/support";
import { type Agents, demoDeployment, hostPortBlock, startAgents } from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * What a host remembers between agents: containers an earlier identity of this installation left
 * behind, ports others hold, and an identity that belongs to another cluster.
 */
let p: Platform;
let agents: Agents;
let token: string;
const extra: string[] = [];
const dirs: string[] = [];
let listener: Server | undefined;

beforeAll(async () => {
  p = await startPlatform();
  agents = await startAgents(p);
  ({ token } = await p.api.tenant("identity"));
});
afterAll(async () => {
  for (const id of extra) await engine("DELETE", `/containers/${id}?force=true`);
  listener?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  await agents?.close();
  await p?.close();
});

const joinToken = async (clusterId: string) =>
  (await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token })).body.token as string;
type PodView = { id: string; phase: string; nodeId: string | null; hostPorts: number[] };
const pods = async (clusterId: string): Promise<PodView[]> =>
  (await p.api.call("GET", `/v1/clusters/${clusterId}/pods`, { token })).body.items;

/** A container started behind the agent's back, as an earlier agent (or another one) left it. */
async function leftover(labels: Record<string, string>, hostPort: number): Promise<string> {
  const id = await agents.runtime.create({
    name: `berth-leftover-${Date.now().toString(36)}-${hostPort}`,
    image: "localhost/berth/demo-web:latest",
    env: {},
    labels: { ...labels, "berth.test.leftover": "1" },
    ports: [{ containerPort: 8080, hostPort, hostIp: "127.0.0.1", protocol: "tcp" }],
    resources: {},
  });
  await agents.runtime.start(id);
  extra.push(id);
  return id;
}

describe("an agent starting on a host", () => {
  it("removes its installation's containers of a stale node id, leaves other agents' alone, and keeps their ports from being handed out", async () => {
    const clusterId = await p.activeCluster(token, "leftovers");
    const range = hostPortBlock(10);
    // The installation has an id (kept in its state dir) from an earlier run.
    const stateDir = await mkdtemp(join(tmpdir(), "berth-agent-leftovers-"));
    dirs.push(stateDir);
    const installation = await installationId(stateDir);
    // An earlier identity of this installation, whose cluster went while it was down.
    const stale = await leftover(
      {
        [CONTAINER_LABELS.installation]: installation,
        [CONTAINER_LABELS.node]: "node_stale",
        [CONTAINER_LABELS.pod]: "pod_stale",
      },
      range.min,
    );
    // Another agent's container on the same engine, and a process listening on a port of the range.
    const foreign = await leftover(
      {
        [CONTAINER_LABELS.installation]: "another-installation",
        [CONTAINER_LABELS.node]: "node_other",
        [CONTAINER_LABELS.pod]: "pod_other",
      },
      range.min + 1,
    );
    listener = createServer();
    await new Promise<void>((ok) => listener?.listen(range.min + 2, "127.0.0.1", ok));

    // The same installation joins as a new node.
    const { agent, logs } = await agents.start("leftovers", {
      joinToken: await joinToken(clusterId),
      stateDir,
      portRange: range,
    });
    expect((await engine("GET", `/containers/${stale}/json`)).status).toBe(404);
    expect((await engine("GET", `/containers/${foreign}/json`)).status).toBe(200);
    expect(logs.join("")).toMatch(/removed containers left by an earlier identity/);
    expect(agent.status().reservedHostPorts).toEqual([range.min + 1, range.min + 2]);
    const nodeId = agent.status().nodeId ?? "";
    await p.waitFor("reserved ports stored", async () => {
      const [row] = await systemRows(
        p.api.deps.db,
        sql`select reserved_host_ports from nodes where id = ${nodeId}`,
      );
      return JSON.stringify(row?.reserved_host_ports) === JSON.stringify([range.min + 1, range.min + 2]);
    });

    // 8 pods with a port each fit in the 8 ports nobody holds, and they run.
    await p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/web`, {
      token,
      body: demoDeployment(8),
    });
    const running = await p.waitFor(
      "8 pods Running on the new node",
      async () => {
        const list = (await pods(clusterId)).filter((x) => x.nodeId === nodeId);
        return list.length === 8 && list.every((x) => x.phase === "Running") && list;
      },
      120_000,
    );
    const ports = running.flatMap((x) => x.hostPorts);
    expect(ports).not.toContain(range.min + 1);
    expect(ports).not.toContain(range.min + 2);
    expect((await containersOf(nodeId)).filter((c) => c.State === "running")).toHaveLength(8);
  }, 180_000);

  it("started with a join token of another cluster, leaves the old one (pods stopped, node left) and joins the new one", async () => {
    const oldCluster = await p.activeCluster(token, "old");
    const first = await agents.start("mover", {
      joinToken: await joinToken(oldCluster),
      portRange: hostPortBlock(5),
    });
    const oldNode = first.agent.status().nodeId ?? "";
    await p.api.call("PUT", `/v1/clusters/${oldCluster}/deployments/default/web`, {
      token,
      body: demoDeployment(1),
    });
    await p.waitFor(
      "old pod running",
      async () => (await pods(oldCluster)).some((x) => x.phase === "Running"),
      60_000,
    );
    await first.agent.stop(); // the agent goes; its pod keeps running
    expect((await containersOf(oldNode)).map((c) => c.State)).toEqual(["running"]);

    const newCluster = await p.activeCluster(token, "new");
    const second = await agents.start("mover", {
      joinToken: await joinToken(newCluster),
      stateDir: first.stateDir,
      portRange: hostPortBlock(5),
    });
    const newNode = second.agent.status().nodeId ?? "";
    expect(newNode).not.toBe(oldNode);
    expect(await containersOf(oldNode, { all: true })).toEqual([]);
    expect(second.logs.join("")).toMatch(
      /started with a different join token: leaving the old cluster first/,
    );
    expect(second.logs.join("")).toMatch(/left the old cluster/);
    const [old] = await systemRows(
      p.api.deps.db,
      sql`select status, cluster_id from nodes where id = ${oldNode}`,
    );
    expect(old).toMatchObject({ status: "left", cluster_id: oldCluster });
    const state = JSON.parse(await readFile(join(first.stateDir, "state.json"), "utf8"));
    expect(state).toMatchObject({ nodeId: newNode, clusterId: newCluster });
    const nodes = await p.api.call("GET", `/v1/clusters/${newCluster}/nodes`, { token });
    expect(nodes.body.items).toEqual([expect.objectContaining({ id: newNode, status: "ready" })]);
  }, 180_000);

  it("stops the old pods and forgets the identity even when the old control plane cannot be reached, and says so", async () => {
    const oldCluster = await p.activeCluster(token, "gone");
    const first = await agents.start("orphan", {
      joinToken: await joinToken(oldCluster),
      portRange: hostPortBlock(5),
    });
    const oldNode = first.agent.status().nodeId ?? "";
    await p.api.call("PUT", `/v1/clusters/${oldCluster}/deployments/default/web`, {
      token,
      body: demoDeployment(1),
    });
    await p.waitFor(
      "old pod running",
      async () => (await pods(oldCluster)).some((x) => x.phase === "Running"),
      60_000,
    );
    await first.agent.stop();
    // The old control plane is gone for good: its address answers nothing.
    const saved = JSON.parse(await readFile(join(first.stateDir, "state.json"), "utf8"));
    await writeFile(
      join(first.stateDir, "state.json"),
      JSON.stringify({ ...saved, server: "http://127.0.0.1:9" }),
    );

    const newCluster = await p.activeCluster(token, "fresh");
    const second = await agents.start("orphan", {
      joinToken: await joinToken(newCluster),
      stateDir: first.stateDir,
      portRange: hostPortBlock(5),
    });
    expect(await containersOf(oldNode, { all: true })).toEqual([]);
    expect(second.logs.join("")).toMatch(
      /could not tell the old control plane that this node left; its pods are stopped and its identity forgotten anyway/,
    );
    expect(second.agent.status().nodeId).not.toBe(oldNode);
  }, 180_000);
});
