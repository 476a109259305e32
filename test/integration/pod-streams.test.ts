import { createTestApi, type TestApi } from "@berth/control-api/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engine } from "../e2e/support";
import { type Agents, demoDeployment, hostPortBlock, startAgents } from "./agent-support";
import { type Platform, startPlatform } from "./harness";
import { execClient, readLines } from "./stream-support";

/**
 * Logs and exec of real containers, streamed from the node agent through the control plane: the
 * agent only dials out (its stream poll and a WebSocket per stream), the bytes cross Redis from
 * the replica that holds the agent's connection to the replica that holds the client's.
 */
let p: Platform;
let agents: Agents;
let other: TestApi;
let otherServer: { url: string; close(): Promise<void> };
let token: string;
let clusterId: string;
let agentStatus: () => { streams: number };

const GREETING = "hello from env";
// Each run of the container says who it is, then ticks.
const ticker = `echo "boot $(cat /proc/sys/kernel/random/uuid)"; i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.3; done`;

type Pod = { id: string; name: string; phase: string; restarts: number; deployment: string };
const podOf = (deployment: string, ok: (x: Pod) => boolean = (x) => x.phase === "Running") =>
  p.waitFor(
    `a pod of ${deployment}`,
    async () =>
      ((await p.api.call("GET", `/v1/clusters/${clusterId}/pods`, { token })).body.items as Pod[]).find(
        (x) => x.deployment === deployment && ok(x),
      ),
    60_000,
  );
const deploy = (name: string, script: string) =>
  p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/${name}`, {
    token,
    body: demoDeployment(1, {
      command: ["/bin/sh", "-c", script],
      env: [{ name: "GREETING", value: GREETING }],
      // An exec'd process shares the container's CPU quota: 10m would make a shell take seconds.
      resources: { requests: { cpu: "500m", memory: "32Mi" } },
    }),
  });
const podPath = (pod: Pod) => `/v1/clusters/${clusterId}/pods/default/${pod.name}`;
const logs = (pod: Pod, query: string, base = agents.url, signal?: AbortSignal) =>
  fetch(`${base}${podPath(pod)}/log?${query}`, {
    headers: { authorization: `Bearer ${token}` },
    ...(signal ? { signal } : {}),
  });
const logText = async (pod: Pod, query: string) => {
  const res = await logs(pod, query);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
  return text;
};
const exec = (pod: Pod, command: string[], api: TestApi = p.api) =>
  api.call("POST", `${podPath(pod)}/exec`, { token, body: { command } });

let web: Pod;

beforeAll(async () => {
  p = await startPlatform();
  agents = await startAgents(p);
  ({ token } = await p.api.tenant("streams"));
  clusterId = await p.activeCluster(token, "c");
  const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
  const { agent } = await agents.start("streamer", {
    joinToken: jt.body.token,
    portRange: hostPortBlock(10),
  });
  agentStatus = () => agent.status();
  // A second replica of the API on the same database and Redis (and QUEUE_PREFIX).
  other = await createTestApi({
    database: p.api.database,
    queuePrefix: p.api.deps.queues.prefix,
    masterKey: p.api.deps.master.key.toString("base64"),
  });
  otherServer = await other.listen();
  expect((await deploy("web", ticker)).status).toBe(200);
  web = await podOf("web");
  await p.waitFor("ticks", async () => (await logText(web, "")).includes("tick 3"), 20_000);
}, 120_000);
afterAll(async () => {
  await otherServer?.close();
  await other?.close();
  await agents?.close();
  await p?.close();
});

describe("logs", () => {
  it("reads a running pod's log as text, the lines as written", async () => {
    const text = await logText(web, "");
    expect(text).toMatch(/^boot [0-9a-f-]{36}\ntick 0\ntick 1\ntick 2\n/);
  });

  it("keeps the last tailLines, the lines of the last sinceSeconds, and prefixes times when asked", async () => {
    const tail = (await logText(web, "tailLines=2")).trim().split("\n");
    expect(tail).toHaveLength(2);
    expect(tail.every((l) => /^tick \d+$/.test(l))).toBe(true);
    expect(await logText(web, "tailLines=0")).toBe("");
    // Three or four ticks a second.
    const recent = (await logText(web, "sinceSeconds=1")).trim().split("\n");
    expect(recent.length).toBeGreaterThanOrEqual(2);
    expect(recent.length).toBeLessThanOrEqual(5);
    expect(recent.some((l) => l.startsWith("boot"))).toBe(false);
    const stamped = (await logText(web, "timestamps=true&tailLines=3")).trim().split("\n");
    expect(stamped).toHaveLength(3);
    for (const line of stamped)
      expect(line).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z tick \d+$/);
    expect(await logText(web, "limitBytes=7")).toMatch(/^boot [0-9a-f]{2}$/);
  });

  it("follows: lines arrive as they are written, and the stream ends when the container does", async () => {
    // Three lines three seconds apart, then the container exits (and its agent restarts it).
    expect((await deploy("blink", 'echo "a"; sleep 3; echo "b"; sleep 3; echo "c"')).status).toBe(200);
    const blink = await podOf("blink");
    // Follow from within the first run's first three seconds.
    await p.waitFor("the first line", async () => (await logText(blink, "")) === "a\n", 10_000);
    const started = Date.now();
    const res = await logs(blink, "follow=true");
    expect(res.status).toBe(200);
    const { text, lines } = await readLines(res, started);
    const ended = Date.now() - started;
    expect(text).toBe("a\nb\nc\n");
    const [a, b, c] = lines.map((l) => l.at);
    // "a" was there already; "b" and "c" came live, three seconds apart; the end soon after "c".
    expect(a).toBeLessThan(1_000);
    expect((c ?? 0) - (b ?? 0)).toBeGreaterThan(2_000);
    expect(ended - (c ?? 0)).toBeLessThan(5_000);
    console.log(`follow: a at ${a} ms (already written), b at ${b} ms, c at ${c} ms, end at ${ended} ms`);
  });

  it("streams a large log at speed, exactly, and stops at limitBytes", async () => {
    // 60,000 lines of 100 bytes (6 MB) written at once, then nothing.
    const script = "yes $(head -c 99 /dev/zero | tr '\\0' x) | head -n 60000; sleep 3600";
    expect((await deploy("chatty", script)).status).toBe(200);
    const chatty = await podOf("chatty");
    await p.waitFor("the whole log written", async () => {
      const r = await logs(chatty, "tailLines=1");
      return (await r.text()).length === 100;
    });
    const started = Date.now();
    const all = await logText(chatty, "");
    const ms = Date.now() - started;
    expect(all.length).toBe(6_000_000);
    expect(
      all
        .split("\n")
        .filter(Boolean)
        .every((l) => l.length === 99),
    ).toBe(true);
    expect((await logText(chatty, "limitBytes=1000000")).length).toBe(1_000_000);
    console.log(
      `large log: 6,000,000 bytes through the relay in ${ms} ms (${(6 / (ms / 1000)).toFixed(1)} MB/s)`,
    );
  });

  it("stops the node's upload when the client goes away", async () => {
    const abort = new AbortController();
    const res = await logs(web, "follow=true&tailLines=1", agents.url, abort.signal);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await p.waitFor("the stream served", async () => agentStatus().streams === 1, 5_000);
    abort.abort();
    await p.waitFor("the node's upload stopped", async () => agentStatus().streams === 0, 10_000);
  });

  it("reads the previous instance after a restart, and only the current one without previous", async () => {
    const before = await logText(web, "");
    const firstBoot = /^boot (\S+)/.exec(before)?.[1];
    const containers = (
      await engine(
        "GET",
        // The pod's container, not its sandbox.
        `/containers/json?filters=${encodeURIComponent(JSON.stringify({ label: [`berth.pod=${web.id}`, "berth.container-kind=app"] }))}`,
      )
    ).body as { Id: string }[];
    expect(containers).toHaveLength(1);
    // A crash behind the agent's back, as the walkthrough does it.
    expect((await engine("POST", `/containers/${containers[0]?.Id}/kill?signal=KILL`)).status).toBe(204);
    web = await podOf("web", (x) => x.phase === "Running" && x.restarts >= 1);
    const current = await p.waitFor("the new instance's first ticks", async () => {
      const t = await logText(web, "");
      return t.includes("tick 1") && t;
    });
    const previous = await logText(web, "previous=true");
    expect(previous.startsWith(`boot ${firstBoot}\n`)).toBe(true);
    expect(previous.match(/^boot /gm)).toHaveLength(1);
    expect(current).toMatch(/^boot \S+\ntick 0\n/);
    expect(current).not.toContain(firstBoot);
    expect((await logText(web, "previous=true&tailLines=1")).trim()).toBe(previous.trim().split("\n").at(-1));
  });

  it("streams through another replica: the client on one, the agent's connection on the other", async () => {
    const res = await fetch(`${otherServer.url}${podPath(web)}/log?tailLines=2`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect((await res.text()).trim().split("\n")).toHaveLength(2);
    const r = await exec(web, ["/bin/sh", "-c", "echo across"], other);
    expect(r.body).toMatchObject({ stdout: "across\n", exitCode: 0 });
  });
});

describe("exec", () => {
  it("runs a command in the container and returns what it printed: the container's environment", async () => {
    const started = Date.now();
    const r = await exec(web, ["sh", "-c", "echo $GREETING"]);
    console.log(
      `exec sh -c 'echo $GREETING' → ${JSON.stringify(r.body.stdout)} in ${Date.now() - started} ms`,
    );
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({
      stdout: `${GREETING}\n`,
      stderr: "",
      exitCode: 0,
      truncated: false,
      timedOut: false,
    });
    // The same operation over tRPC.
    const t = await p.api.app.request("/trpc/pods.exec", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        clusterId,
        namespace: "default",
        name: web.name,
        command: ["sh", "-c", "echo $GREETING"],
      }),
    });
    const reply = (await t.json()) as { result: { data: unknown } };
    expect(reply.result.data).toMatchObject({ stdout: `${GREETING}\n`, exitCode: 0 });
  });

  it("returns stderr apart and a failing exit code, and audits the command but never the output", async () => {
    const command = ["sh", "-c", "echo $GREETING | tr a-z A-Z; echo oops >&2; exit 3"];
    const r = await exec(web, command);
    expect(r.body).toMatchObject({ stdout: `${GREETING.toUpperCase()}\n`, stderr: "oops\n", exitCode: 3 });
    const audit = await p.api.call("GET", "/v1/audit-events?action=pod:Exec", { token });
    const entry = audit.body.items.find(
      (e: { details: { command?: string[] } | null }) =>
        JSON.stringify(e.details?.command) === JSON.stringify(command),
    );
    expect(entry).toMatchObject({ result: "success", status: 200 });
    expect(entry.resource).toMatch(new RegExp(`cluster/${clusterId}/namespace/default/pod/${web.name}$`));
    expect(audit.text).not.toContain(GREETING.toUpperCase());
  });

  it("attaches over a WebSocket with a terminal: input, output, resize, and the exit code at the end", async () => {
    const q = "command=/bin/sh&stdin=true&stdout=true&tty=true";
    const c = await execClient(`${agents.url}${podPath(web)}/exec?${q}`, token);
    expect(c.protocol).toBe("v5.channel.k8s.io");
    c.resize(40, 10);
    c.send(0, "stty size; echo $GREETING\n");
    await c.waitFor(new RegExp(`10 40\\r?\\n${GREETING}`));
    c.resize(77, 20);
    c.send(0, "stty size\n");
    await c.waitFor(/20 77/);
    c.send(0, "exit 3\n");
    expect(await c.status).toMatchObject({
      status: "Failure",
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: "3" }] },
    });
    expect(await c.closed).toBe(1000);
    const audit = await p.api.call("GET", "/v1/audit-events?action=pod:Exec", { token });
    expect(audit.body.items[0]).toMatchObject({
      status: 101,
      details: { command: ["/bin/sh"], tty: true, stdin: true },
    });
  });

  it("passes stdin and its end without a terminal, keeping stderr apart, through the other replica", async () => {
    const q = new URLSearchParams([
      ["command", "sh"],
      ["command", "-c"],
      ["command", "cat; echo done >&2"],
      ["stdin", "true"],
    ]);
    const c = await execClient(`${otherServer.url}${podPath(web)}/exec?${q}`, token);
    c.send(0, "line one\n");
    c.send(0, "line two\n");
    c.send(255, Buffer.of(0));
    expect(await c.status).toEqual({ metadata: {}, status: "Success" });
    expect(c.received(1)).toBe("line one\nline two\n");
    expect(c.received(2)).toBe("done\n");
  });
});
