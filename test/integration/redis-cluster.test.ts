import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { generateMasterKey, parseServerEnv, serverEnvShape } from "@berth/core";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { freePort } from "../e2e/support";
import { type Platform, startPlatform } from "./harness";

/**
 * Berth on a real Redis Cluster (three masters, the slots split between them), as a managed Redis
 * serves it: the API and the provisioner's BullMQ workers connect through the seed nodes, every key
 * and queue under a hash-tag prefix, so multi-key scripts (rate limits, BullMQ's own) stay in one slot.
 */
const run = promisify(execFile);
let dir: string;
const servers: ChildProcess[] = [];
let nodes: { host: string; port: number }[] = [];
let p: Platform;
const prefix = `{t-${randomBytes(4).toString("hex")}}`;

/** Whether nothing listens on `port` right now. */
function isFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = createServer();
    s.once("error", () => ok(false));
    s.listen(port, "127.0.0.1", () => s.close(() => ok(true)));
  });
}

/**
 * A port for a cluster node: free, and its cluster bus port (the port + 10,000, which Redis also
 * binds) free too. A bus port that is taken (once it was the platform's own Redis) stops the node.
 */
async function clusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10_000 <= 65_535 && (await isFree(port + 10_000))) return port;
  }
}

async function startCluster(): Promise<void> {
  dir = await mkdtemp(join(tmpdir(), "berth-redis-cluster-"));
  const ports = [await clusterPort(), await clusterPort(), await clusterPort()];
  nodes = ports.map((port) => ({ host: "127.0.0.1", port }));
  for (const port of ports) {
    const server = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        `nodes-${port}.conf`,
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      { stdio: "ignore" },
    );
    servers.push(server);
  }
  for (const port of ports)
    for (let i = 0; ; i++) {
      const pong = await run("redis-cli", ["-p", String(port), "ping"]).catch(() => ({ stdout: "" }));
      if (pong.stdout.trim() === "PONG") break;
      if (i > 100) throw new Error(`redis-server on ${port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  await run("redis-cli", [
    "--cluster",
    "create",
    ...ports.map((port) => `127.0.0.1:${port}`),
    "--cluster-replicas",
    "0",
    "--cluster-yes",
  ]);
  for (let i = 0; ; i++) {
    const states = await Promise.all(
      ports.map(async (port) => (await run("redis-cli", ["-p", String(port), "cluster", "info"])).stdout),
    );
    if (states.every((s) => s.includes("cluster_state:ok"))) return;
    if (i > 200) throw new Error(`the cluster did not form:\n${states.join("\n")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  await startCluster();
  p = await startPlatform({ api: { redisClusterNodes: nodes, queuePrefix: prefix } });
}, 60_000);
afterAll(async () => {
  await p?.close();
  for (const server of servers) server.kill("SIGKILL");
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The environment every server parses (each app's env.ts extends it). */
const parseApiEnv = (source: NodeJS.ProcessEnv) => parseServerEnv(z.object(serverEnvShape), source);

describe("Berth on a Redis Cluster", () => {
  it("uses a cluster client whose nodes split the slots", async () => {
    expect(p.api.deps.redis).toBeInstanceOf(Cluster);
    expect(new Set((p.api.deps.redis as Cluster).nodes("master").map((n) => n.options.port)).size).toBe(3);
  });

  it("runs the whole path: sign-up, rate-limited calls, a cluster provisioned by BullMQ jobs", async () => {
    const t = await p.api.tenant("on-cluster");
    const id = await p.activeCluster(t.token, "c");
    expect(id).toMatch(/^cl/);
    for (let i = 0; i < 5; i++)
      expect((await p.api.call("GET", "/v1/clusters", { token: t.token })).status).toBe(200);
    // Every key Berth made is under the hash tag: one slot, whatever node holds it.
    const redis = p.api.deps.redis as Cluster;
    const keys = (
      await Promise.all(redis.nodes("master").map((n) => n.keys(`*`) as Promise<string[]>))
    ).flat();
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((k) => !k.startsWith(prefix))).toEqual([]);
    const slotsUsed = new Set(await Promise.all(keys.map((k) => redis.cluster("KEYSLOT", k))));
    expect(slotsUsed.size).toBe(1);
  });

  it("refuses to start on a cluster with a prefix that is not a hash tag, and picks {berth} by default", () => {
    const base = {
      BERTH_MASTER_KEY: generateMasterKey(),
      REDIS_CLUSTER_NODES: nodes.map((n) => `${n.host}:${n.port}`).join(","),
    };
    expect(() => parseApiEnv({ ...base, QUEUE_PREFIX: "berth" })).toThrow(
      /QUEUE_PREFIX: with REDIS_CLUSTER_NODES, QUEUE_PREFIX must start with a hash tag such as \{berth\}/,
    );
    expect(parseApiEnv(base).QUEUE_PREFIX).toBe("{berth}");
    expect(parseApiEnv(base).REDIS_CLUSTER_NODES).toEqual(nodes);
    expect(parseApiEnv({ BERTH_MASTER_KEY: base.BERTH_MASTER_KEY }).QUEUE_PREFIX).toBe("berth");
    expect(() => parseApiEnv({ ...base, REDIS_CLUSTER_NODES: "127.0.0.1" })).toThrow(
      /REDIS_CLUSTER_NODES: expected host:port,host:port/,
    );
  });
});
