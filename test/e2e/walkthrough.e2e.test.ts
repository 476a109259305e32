import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createTestDatabase, type TestDatabase } from "@berth/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containersOf, freePort, type Proc, ROOT, start } from "./support";

const exec = promisify(execFile);

/**
 * The README's walkthrough, exactly: `npm run up` (infra/up.sh) starts the control API and the
 * provisioner as processes against real Postgres and Redis, then each line of the README's
 * walkthrough block runs in bash as a user would type it (the server's address is the only thing
 * changed) — the CLI from the repository, the agent installed from the bundle the control plane
 * serves, pods as Podman containers. What each line must print is checked below it.
 */
const DOCUMENTED_URL = "http://127.0.0.1:8080";
const MARKER = "<!-- walkthrough: run by test/e2e/walkthrough.e2e.test.ts -->";

async function walkthrough(): Promise<string[]> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const block = readme.slice(readme.indexOf(MARKER)).match(/```sh\n([\s\S]*?)```/)?.[1];
  if (!readme.includes(MARKER) || !block) throw new Error("the README has no walkthrough block");
  return block.split("\n").filter((l) => l.trim() !== "");
}

/** What a line must print (stdout and stderr together), by the command it runs. */
const EXPECTED: [RegExp, RegExp[]][] = [
  [/berth signup/, [/tenant\/acme created/]],
  [/berth login/, [/acme/]],
  [/berth clusters create/, [/prod/, /active/]],
  [/berth apply/, [/configmap\/web-message created/, /deployment\/web created/, /successfully rolled out/]],
  [/berth get nodes/, [/^node-1\s+Ready\b/m]],
  [/berth get pods/, [/^web-\S+\s+1\/1\s+Running\s+0\b/m]],
  [/berth logs/, [/demo-web: serving \/tmp\/www on port 8080/]],
  [/berth usage/, [/cluster_hours/, /node_hours/]],
  [/berth clusters delete/, [/deleted/]],
];

let db: TestDatabase;
let up: Proc;
let agent: Proc | undefined;
let url: string;
let dir: string;
let env: Record<string, string>;
const lines = await walkthrough();

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), "berth-walkthrough-"));
  up = start("bash", ["infra/up.sh"], {
    PORT: String(await freePort()),
    PROVISIONER_PORT: String(await freePort()),
    GATEWAY_HTTP_PORT: String(await freePort()),
    GATEWAY_HTTPS_PORT: String(await freePort()),
    GATEWAY_ADMIN_PORT: String(await freePort()),
    DATABASE_URL: db.url,
    DATABASE_SYSTEM_URL: db.systemUrl,
    DATABASE_MIGRATION_URL: db.migrationUrl,
    QUEUE_PREFIX: `e2e-${randomBytes(4).toString("hex")}`,
    LOG_LEVEL: "warn",
    // Every reply of the walk is checked against its documented schema.
    CHECK_REPLIES: "true",
  });
  url = (await up.waitForOutput(/Berth is up: (http:\/\/\S+)/, 180_000))[1] ?? "";
  env = {
    BERTH_CONFIG: join(dir, "config.yaml"),
    // Where the installer puts the agent, and where the agent keeps its identity (not /opt, /var/lib).
    BERTH_AGENT_DIR: join(dir, "agent"),
    BERTH_STATE_DIR: join(dir, "state"),
    NO_COLOR: "1",
  };
});

afterAll(async () => {
  if (agent && agent.child.exitCode === null) {
    agent.child.kill("SIGKILL");
    await agent.exited;
  }
  if (up && up.child.exitCode === null) {
    up.child.kill("SIGTERM");
    await up.exited;
  }
  await rm(dir, { recursive: true, force: true });
  await db?.drop();
});

describe("the README's walkthrough, line by line", () => {
  it("npm run up answers on the printed URL", async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${url}/readyz`)).json()).toMatchObject({ status: "ready" });
    expect(lines.length).toBeGreaterThanOrEqual(10);
  });

  for (const line of lines) {
    it(line.replace(/\s+#.*$/, ""), async () => {
      const command = line.replaceAll(DOCUMENTED_URL, url);
      if (command.trimEnd().endsWith("&")) {
        // Long-running (the node agent): it keeps running while the walk goes on.
        agent = start("bash", ["-c", command.trimEnd().slice(0, -1)], env);
        await agent.waitForOutput(/checksum verified/, 60_000);
        return;
      }
      const run = await exec("bash", ["-c", command], {
        cwd: ROOT,
        env: { ...process.env, ...env },
        timeout: 180_000,
      }).catch((e: { code: number; stdout: string; stderr: string }) => e);
      const printed = `${run.stdout}${run.stderr}`;
      expect((run as { code?: number }).code ?? 0, `${command}\n${printed}`).toBe(0);
      for (const [when, patterns] of EXPECTED)
        if (when.test(command)) for (const p of patterns) expect(printed, command).toMatch(p);
    });
  }

  it("leaves nothing behind: the agent left the cluster and exited, its containers are gone", async () => {
    expect(await agent?.exited).toBe(0);
    expect(agent?.output()).toMatch(/left the cluster/);
    const nodeId = agent?.output().match(/"nodeId":"(node_[0-9a-z]+)"/)?.[1];
    expect(nodeId).toBeDefined();
    expect(await containersOf(nodeId ?? "", { all: true })).toEqual([]);
  });

  it("Ctrl-C stops everything npm run up started, cleanly", async () => {
    up.child.kill("SIGINT");
    expect(await up.exited).toBe(0);
    expect(up.output()).toMatch(/stopped/);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
