import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateMasterKey } from "@berth/core";
import {
  createTestDatabase,
  ensureTemplate,
  systemRows,
  type TestDatabase,
  testRedisUrl,
} from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { freePort, type Proc, poll, start } from "../e2e/support";

/**
 * The control plane as benches run it: the API and the provisioner, each its own process (the real
 * `src/index.ts` of each), on a database and a queue prefix of their own; the bench is the client.
 */
export interface Stack {
  url: string;
  db: TestDatabase;
  /** Every Redis key and queue of this stack starts with it. */
  prefix: string;
  api: Proc;
  provisioner: Proc;
  /** A JSON call; a 4xx or 5xx throws with the reply. */
  call(method: string, path: string, token?: string, body?: unknown): Promise<Record<string, unknown>>;
  /** Starts another process that is stopped with the stack. */
  also(proc: Proc): Proc;
  stop(): Promise<void>;
}

export async function startStack(opts: { apiEnv?: Record<string, string> } = {}): Promise<Stack> {
  await ensureTemplate();
  const db = await createTestDatabase();
  const prefix = `bench-${randomBytes(4).toString("hex")}`;
  const common = {
    DATABASE_URL: db.url,
    DATABASE_SYSTEM_URL: db.systemUrl,
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: prefix,
    BERTH_MASTER_KEY: generateMasterKey(),
    LOG_LEVEL: "warn",
  };
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const procs: Proc[] = [];
  const api = start(process.execPath, ["--import", "tsx", "apps/control-api/src/index.ts"], {
    ...common,
    PORT: String(port),
    ...opts.apiEnv,
  });
  procs.push(api);
  const provisioner = start(process.execPath, ["--import", "tsx", "apps/provisioner/src/index.ts"], {
    ...common,
    PROVISIONER_PORT: String(await freePort()),
    BERTH_API_URL: url,
  });
  procs.push(provisioner);
  process.on("exit", () => {
    for (const p of procs) p.child.kill("SIGKILL");
  });
  await poll("the API", async () => (await fetch(`${url}/readyz`).catch(() => null))?.ok, 60_000);

  async function call(method: string, path: string, token?: string, body?: unknown) {
    const res = await fetch(url + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { "content-type": "application/json" } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  }
  return {
    url,
    db,
    prefix,
    api,
    provisioner,
    call,
    also(proc) {
      procs.push(proc);
      return proc;
    },
    async stop() {
      for (const p of [...procs].reverse()) p.child.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 1_000));
      for (const p of procs) p.child.kill("SIGKILL");
    },
  };
}

/** CPU seconds (user + system), resident and peak resident memory (MiB) of a process, from /proc. */
export async function processUsage(
  p: Proc,
): Promise<{ cpuSeconds: number; rssMiB: number; peakRssMiB: number }> {
  const stat = (await readFile(`/proc/${p.child.pid}/stat`, "utf8")).split(") ")[1]?.split(" ") ?? [];
  const ticks = Number(stat[11]) + Number(stat[12]);
  const status = await readFile(`/proc/${p.child.pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return {
    cpuSeconds: ticks / 100,
    rssMiB: Math.round(kib("VmRSS") / 1024),
    peakRssMiB: Math.round(kib("VmHWM") / 1024),
  };
}

/**
 * One tenant signed up through the API with an active cluster, and `nodes` hollow nodes (one
 * process of the real node agent, `--hollow`, given `agentArgs` too) joined to it: resolves once
 * every node is ready, with the seconds that took. The nodes' state directory goes with `stop()`.
 */
export async function hollowCluster(
  stack: Stack,
  opts: { tenant: string; nodes: number; agentArgs?: string[] },
): Promise<{ token: string; clusterId: string; hollow: Proc; joinSeconds: number; stop(): Promise<void> }> {
  const { call } = stack;
  const email = `${opts.tenant}@bench.test`;
  const password = "correct horse battery staple";
  await call("POST", "/v1/signup", undefined, { tenantName: opts.tenant, email, password });
  const token = (await call("POST", "/v1/auth/token", undefined, { email, password })).accessToken as string;
  const clusterId = (await call("POST", "/v1/clusters", token, { name: "bench" })).id as string;
  await poll(
    "the cluster active",
    async () => (await call("GET", `/v1/clusters/${clusterId}`, token)).status === "active",
  );
  const joinToken = (
    await call("POST", `/v1/clusters/${clusterId}/join-tokens`, token, {
      maxUses: opts.nodes,
      ttlSeconds: 3600,
    })
  ).token as string;
  const stateDir = await mkdtemp(join(tmpdir(), `berth-${opts.tenant}-`));
  const started = performance.now();
  const hollow = stack.also(
    start(
      process.execPath,
      [
        "--import",
        "tsx",
        "apps/node-agent/src/index.ts",
        ...["--server", stack.url, "--join-token", joinToken, "--name", "hollow", "--state-dir", stateDir],
        ...["--hollow", String(opts.nodes), ...(opts.agentArgs ?? [])],
      ],
      { LOG_LEVEL: "warn" },
    ),
  );
  await poll(
    `${opts.nodes} hollow nodes ready`,
    async () =>
      Number(
        (await systemRows(stack.db.db, sql`select count(*) as n from nodes where status = 'ready'`))[0]?.n,
      ) === opts.nodes,
    30 * 60_000,
  );
  return {
    token,
    clusterId,
    hollow,
    joinSeconds: (performance.now() - started) / 1000,
    async stop() {
      await stack.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
