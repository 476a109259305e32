import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agents, hostPortBlock, startAgents } from "./agent-support";
import { cliRunner } from "./cli-support";
import { type Platform, startPlatform } from "./harness";

/**
 * `berth logs` and `berth exec` of a real container on a real node agent (Podman), through the
 * control plane: the log as written (and followed), exec's output and exit code, and `exec -i`
 * over the API's WebSocket with stdin.
 */
let p: Platform;
let agents: Agents;
let dir: string;
let cli: Awaited<ReturnType<typeof cliRunner>>;
let pod: string;

const TICKER = `apiVersion: apps/v1
kind: Deployment
metadata: { name: ticker }
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: ticker
          image: localhost/berth/demo-web:latest
          command: ["/bin/sh", "-c", "echo ready; i=0; while true; do echo \\"tick $i\\"; i=$((i+1)); sleep 0.3; done"]
          env: [{ name: GREETING, value: hello from env }]
          resources: { requests: { cpu: 500m, memory: 32Mi } }
`;

beforeAll(async () => {
  p = await startPlatform();
  agents = await startAgents(p);
  dir = await mkdtemp(join(tmpdir(), "berth-cli-streams-"));
  cli = await cliRunner(join(dir, "config.yaml"), dir);
  const tenant = await p.api.tenant("cli-streams");
  const clusterId = await p.activeCluster(tenant.token, "c");
  await cli.ok(
    ["login", "--server", agents.url, "--email", tenant.email, "--password-stdin"],
    tenant.password,
  );
  await cli.ok(["config", "set-context", "--cluster", clusterId]);
  const token = (await cli.ok(["join-tokens", "create", "--description", "cli"])).stdout.trim();
  await agents.start("cli-node", { joinToken: token, portRange: hostPortBlock(10) });
  const applied = await cli.ok(["apply", "-f", "-", "--wait", "--timeout", "2m"], TICKER);
  expect(applied.stdout).toBe("deployment/ticker created\n");
  expect(applied.stderr).toMatch(/deployment "ticker" rollout: successfully rolled out \(\d+s\)/);
  pod = (await cli.ok(["get", "pods", "-o", "name"])).stdout.trim().replace("pod/", "");
}, 180_000);
afterAll(async () => {
  await agents?.close();
  await p?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("berth logs and exec against a real node", () => {
  it("prints the log as written, the last lines, and follows it", async () => {
    await p.waitFor(
      "three ticks",
      async () => (await cli.ok(["logs", pod])).stdout.includes("tick 2"),
      20_000,
    );
    expect((await cli.ok(["logs", pod])).stdout).toMatch(/^ready\ntick 0\ntick 1\ntick 2\n/);
    expect((await cli.ok(["logs", pod, "--tail", "1"])).stdout).toMatch(/^tick \d+\n$/);
    // Followed, the stream goes on past what was written when it began, up to the byte limit.
    const before = (await cli.ok(["logs", pod])).stdout;
    const followed = await cli.ok(["logs", "-f", pod, "--limit-bytes", String(before.length + 40)]);
    expect(followed.stdout.startsWith(before)).toBe(true);
    expect(followed.stdout.length).toBe(before.length + 40);
  });

  it("runs a command and exits with its exit code, stdout and stderr apart", async () => {
    const r = await cli.berth(["exec", pod, "--", "sh", "-c", "echo $GREETING; echo oops >&2; exit 3"]);
    expect(r).toEqual({ code: 3, stdout: "hello from env\n", stderr: "oops\n" });
  });

  it("passes stdin to the command with -i, over the WebSocket", async () => {
    const r = await cli.berth(["exec", "-i", pod, "--", "sh", "-c", "tr a-z A-Z; exit 4"], "piped through\n");
    expect(r).toEqual({ code: 4, stdout: "PIPED THROUGH\n", stderr: "" });
  });

  it("says why a pod that does not exist has no log, in one line", async () => {
    const r = await cli.berth(["logs", "nope"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: NOT_FOUND: .*nope.*\n$/);
  });
});
