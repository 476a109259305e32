import { createTestApi, type TestApi } from "@berth/control-api/testing";
import { systemRows } from "@berth/db/testing";
import { encodeStreamMessage, type StreamRequest } from "@berth/protocol";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type Platform, startPlatform } from "./harness";
import { execClient } from "./stream-support";

/**
 * Logs and exec refused as they must be, without containers: nodes joined over HTTP and driven
 * by the test as an agent would drive them (stream poll, stream WebSocket, heartbeats). A second
 * API replica, sharing the database and Redis, has a short start timeout and two streams a tenant.
 */
let p: Platform;
let second: TestApi;
let server: { url: string; close(): Promise<void> };
let a: { token: string };
let b: { token: string };
let clusterId: string;
let nodes: { nodeId: string; credential: string; name: string }[] = [];
let beat: NodeJS.Timeout;
/** Heartbeats sent and not yet answered: stopping the beat waits for them. */
const beating = new Set<Promise<unknown>>();
let podName: string;

const deployment = (containers: { name: string; cpu?: string }[]) => ({
  spec: {
    replicas: 1,
    template: {
      spec: {
        containers: containers.map((c) => ({
          name: c.name,
          image: "localhost/berth/demo-web:latest",
          resources: { requests: { cpu: c.cpu ?? "10m", memory: "16Mi" } },
        })),
      },
    },
  },
});
const podsOf = async (deployment: string) =>
  (await p.api.call("GET", `/v1/clusters/${clusterId}/pods`, { token: a.token })).body.items.filter(
    (x: { deployment: string }) => x.deployment === deployment,
  ) as { name: string; nodeId: string | null }[];
const path = (name: string, ns = "default", cluster = clusterId) =>
  `/v1/clusters/${cluster}/pods/${ns}/${name}`;
const join = async (name: string) => {
  const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token: a.token });
  const j = await p.api.call("POST", "/v1/nodes/join", {
    body: {
      joinToken: jt.body.token,
      name,
      capacity: { cpuMillis: 4000, memoryBytes: 4 * 1024 ** 3, pods: 20 },
      portRange: { min: 30000, max: 30019 },
      address: "127.0.0.1",
    },
  });
  return { nodeId: j.body.nodeId as string, credential: j.body.credential as string, name };
};
const poll = (api: TestApi, credential: string, waitMs = 0) =>
  api.call("GET", `/v1/nodes/streams?waitMs=${waitMs}`, { token: credential });

beforeAll(async () => {
  p = await startPlatform();
  second = await createTestApi({
    database: p.api.database,
    queuePrefix: p.api.deps.queues.prefix,
    masterKey: p.api.deps.master.key.toString("base64"),
    streamLimits: { startTimeoutMs: 1_500, perTenant: 2 },
  });
  server = await second.listen();
  a = await p.api.tenant("owner");
  b = await p.api.tenant("intruder");
  clusterId = await p.activeCluster(a.token, "c");
  nodes = [await join("n1")];
  beat = setInterval(() => {
    for (const n of nodes) {
      const sent = p.api.call("POST", "/v1/nodes/heartbeat", { token: n.credential, body: {} });
      beating.add(sent);
      const done = () => beating.delete(sent);
      sent.then(done, done);
    }
  }, 500);
  await p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/web`, {
    token: a.token,
    body: deployment([{ name: "web" }]),
  });
  podName = (await p.waitFor("web placed", async () => (await podsOf("web")).find((x) => x.nodeId)))?.name;
  nodes.push(await join("n2"));
});
afterAll(async () => {
  clearInterval(beat);
  await server?.close();
  await second?.close();
  await p.close();
});

describe("who may read and exec", () => {
  it("answers another tenant's pod with 404: logs, exec and an interactive exec alike", async () => {
    const logs = await p.api.call("GET", `${path(podName)}/log`, { token: b.token });
    expect(logs.status, logs.text).toBe(404);
    const exec = await p.api.call("POST", `${path(podName)}/exec`, {
      token: b.token,
      body: { command: ["id"] },
    });
    expect(exec.status).toBe(404);
    const ws = await execClient(
      `${server.url}${path(podName)}/exec?command=sh&stdin=true&tty=true`,
      b.token,
    ).catch((e: { status?: number }) => e);
    expect((ws as { status?: number }).status).toBe(404);
    const wrongNs = await p.api.call("GET", `${path(podName, "other")}/log`, { token: a.token });
    expect(wrongNs.status).toBe(404);
  });

  it("refuses a token without a bearer on the WebSocket with 401, as plain HTTP", async () => {
    const ws = await execClient(`${server.url}${path(podName)}/exec?command=sh`, "not-a-token").catch(
      (e: { status?: number; body?: string }) => e,
    );
    expect(ws).toMatchObject({ status: 401 });
    expect((ws as { body: string }).body).toContain("UNAUTHENTICATED");
  });
});

describe("hostile and impossible requests", () => {
  it("refuses hostile query strings and bodies with 400, never 5xx", async () => {
    const queries = [
      "tailLines=-1",
      "tailLines=1e309",
      "tailLines=99999999999",
      "sinceSeconds=0",
      "sinceSeconds=abc",
      "sinceTime=yesterday",
      "sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z",
      "follow=maybe",
      "timestamps=%00",
      "container=%00",
      "container=Web",
      "limitBytes=0",
      "previous=true&previous=false",
      "unknown=1",
    ];
    for (const q of queries) {
      const r = await p.api.call("GET", `${path(podName)}/log?${q}`, { token: a.token });
      expect(r.status, `${q} → ${r.status} ${r.text}`).toBe(400);
      expect(r.body.error.code).toBe("VALIDATION_FAILED");
    }
    const bodies = [
      { command: [] },
      { command: "id" },
      { command: ["a\u0000b"] },
      { command: Array(200).fill("x") },
      { command: ["x".repeat(5000)] },
      { command: ["id"], timeoutSeconds: 1e9 },
      { command: ["id"], stdin: "yes" },
    ];
    for (const body of bodies) {
      const r = await p.api.call("POST", `${path(podName)}/exec`, { token: a.token, body });
      expect(r.status, `${JSON.stringify(body).slice(0, 60)} → ${r.status} ${r.text}`).toBe(400);
    }
    const noUpgrade = await p.api.call("GET", `${path(podName)}/exec?command=sh`, { token: a.token });
    expect(noUpgrade.status).toBe(400);
    expect(noUpgrade.body.error.message).toContain("WebSocket");
  });

  it("says which container to name, and refuses one the pod does not have", async () => {
    await p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/duo`, {
      token: a.token,
      body: deployment([{ name: "one" }, { name: "two" }]),
    });
    const duo = await p.waitFor("duo placed", async () => (await podsOf("duo")).find((x) => x.nodeId));
    const none = await p.api.call("GET", `${path(duo.name)}/log`, { token: a.token });
    expect(none.status).toBe(400);
    expect(none.body.error.message).toBe(
      `a container name must be specified for pod ${duo.name}, choose one of: [one two]`,
    );
    const wrong = await p.api.call("GET", `${path(duo.name)}/log?container=three`, { token: a.token });
    expect(wrong.body.error.message).toBe(`container three is not valid for pod ${duo.name}`);
  });

  it("answers 400 for a pod that is not on a node yet", async () => {
    await p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/huge`, {
      token: a.token,
      body: deployment([{ name: "huge", cpu: "64" }]),
    });
    const huge = await p.waitFor("huge pending", async () => (await podsOf("huge"))[0]);
    const r = await p.api.call("GET", `${path(huge.name)}/log`, { token: a.token });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain("is not on a node yet");
  });
});

describe("the reverse channel", () => {
  it("hands a stream to its own node's poll only, once; another node's connection is refused; bytes reach the client", async () => {
    const [n1, n2] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    const client = second.call("GET", `${path(podName)}/log?tailLines=5`, { token: a.token });
    // n1's poll, held on the other replica, is woken by the request.
    const polled = await poll(p.api, n1.credential, 5_000);
    expect(polled.status).toBe(200);
    const request = polled.body.requests[0] as StreamRequest;
    expect(request).toMatchObject({ kind: "logs", container: "web", logs: { tailLines: 5, follow: false } });
    expect((await poll(p.api, n1.credential)).body.requests).toEqual([]);
    expect((await poll(p.api, n2.credential)).body.requests).toEqual([]);
    const url = `${server.url.replace("http", "ws")}/v1/nodes/streams/${request.streamId}`;
    const connect = (credential: string) =>
      new Promise<WebSocket>((ok, fail) => {
        const ws = new WebSocket(url, { headers: { authorization: `Bearer ${credential}` } });
        ws.on("open", () => ok(ws));
        ws.on("unexpected-response", (_q, res) => fail(new Error(String(res.statusCode))));
      });
    await expect(connect(n2.credential)).rejects.toThrow("404");
    const ws = await connect(n1.credential);
    await expect(connect(n1.credential)).rejects.toThrow("404");
    ws.send(encodeStreamMessage({ type: "started" }));
    ws.send(encodeStreamMessage({ type: "data", channel: 1, payload: Buffer.from("line from the node\n") }));
    ws.send(encodeStreamMessage({ type: "end", end: { ok: true } }));
    const r = await client;
    expect(r.status).toBe(200);
    expect(r.text).toBe("line from the node\n");
    ws.close();
  });

  it("answers 504 naming the node when it does not start the stream in time", async () => {
    const started = Date.now();
    const r = await second.call("GET", `${path(podName)}/log`, { token: a.token });
    expect(r.status).toBe(504);
    expect(r.body.error).toMatchObject({ code: "NODE_TIMEOUT" });
    expect(r.body.error.message).toContain('node "n1" did not start the stream within 1.5 s');
    expect(Date.now() - started).toBeLessThan(5_000);
    // The request was withdrawn: the node does not find it afterwards.
    expect((await poll(p.api, nodes[0]?.credential as string)).body.requests).toEqual([]);
  });

  it("holds at most STREAMS_PER_TENANT streams of a tenant at once: the next is 429 until one ends", async () => {
    const waiting = [1, 2].map(() => second.call("GET", `${path(podName)}/log`, { token: a.token }));
    await new Promise((r) => setTimeout(r, 300));
    const third = await second.call("GET", `${path(podName)}/log`, { token: a.token });
    expect(third.status).toBe(429);
    expect(third.body.error.message).toContain("2 log and exec streams open");
    expect((await Promise.all(waiting)).map((r) => r.status)).toEqual([504, 504]);
    // Another tenant is not held back by this one.
    const other = await second.call("GET", `${path(podName)}/log`, { token: b.token });
    expect(other.status).toBe(404);
    expect((await second.call("GET", `${path(podName)}/log`, { token: a.token })).status).toBe(504);
    await poll(p.api, nodes[0]?.credential as string);
  });

  it("answers 503 with a clear message for a pod whose node is gone", async () => {
    // The node falls silent and the sweep has marked it not ready (its lease, 3 s in tests, has
    // lapsed) but its pods are not replaced yet (5 s): set as such, so that the answer does not race
    // the sweep and the eviction on a loaded machine.
    clearInterval(beat);
    // A heartbeat already on its way would mark the node ready again after the update below.
    await Promise.allSettled([...beating]);
    await systemRows(
      p.api.deps.db,
      sql`update nodes set status = 'not_ready', last_heartbeat_at = now() - interval '4 seconds' where id = ${nodes[0]?.nodeId ?? ""}`,
    );
    const r = await second.call("GET", `${path(podName)}/log`, { token: a.token });
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe("NODE_UNAVAILABLE");
    expect(r.body.error.message).toMatch(
      /^node "n1" of pod \S+ is not ready \(last heard from \d+ s ago\): its pods' logs and exec are unavailable until it is back$/,
    );
    expect(r.headers.get("retry-after")).toBe("10");
  });
});
