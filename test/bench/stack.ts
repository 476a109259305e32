import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { generateMasterKey } from "@berth/core";
import { createTestDatabase, ensureTemplate, type TestDatabase, testRedisUrl } from "@berth/db/testing";
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
