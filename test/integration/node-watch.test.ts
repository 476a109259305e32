import { createTestApi, foregroundCalls, type TestApi } from "@berth/control-api/testing";
import { systemRows } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "./harness";

/**
 * The node API's push channel and lease, driven over HTTP as an agent would: a watch answers the
 * moment a change to its node commits, on any replica, also after the replica's LISTEN
 * connection was cut; heartbeats keep the node ready; status reports carry reserved host ports
 * and evictions.
 */
let p: Platform;
let second: TestApi;
let token: string;
let clusterId: string;
let node: { nodeId: string; credential: string };
let beat: NodeJS.Timeout;

const web = (replicas: number, ports = 1) => ({
  spec: {
    replicas,
    template: {
      spec: {
        containers: [
          {
            name: "w",
            image: "localhost/berth/demo-web:latest",
            ports: Array.from({ length: ports }, (_, i) => ({ containerPort: 8080 + i })),
          },
        ],
      },
    },
  },
});
const watch = (api: TestApi, version: string | undefined, waitMs: number) =>
  api.call("GET", `/v1/nodes/watch?waitMs=${waitMs}${version ? `&version=${version}` : ""}`, {
    token: node.credential,
  });
const deploy = (name: string, body: unknown) =>
  p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/${name}`, { token, body });
const sync = (body: unknown) => p.api.call("POST", "/v1/nodes/sync", { token: node.credential, body });
/** Cuts every LISTEN connection of this test's database, as a Postgres restart would. */
async function cutListeners(): Promise<void> {
  const killed = await systemRows(
    p.api.deps.db,
    sql`select pg_terminate_backend(pid) as ok from pg_stat_activity
        where datname = current_database() and application_name = 'berth-control-api-listen'`,
  );
  expect(killed.length).toBeGreaterThan(0);
}
const podsOf = async (deployment: string) =>
  (await p.api.call("GET", `/v1/clusters/${clusterId}/pods`, { token })).body.items.filter(
    (x: { deployment: string }) => x.deployment === deployment,
  ) as { id: string; phase: string; reason: string | null; message: string | null; hostPorts: number[] }[];

beforeAll(async () => {
  p = await startPlatform();
  second = await createTestApi({
    database: p.api.database,
    queuePrefix: p.api.deps.queues.prefix,
    masterKey: p.api.deps.master.key.toString("base64"),
  });
  ({ token } = await p.api.tenant("watcher"));
  clusterId = await p.activeCluster(token, "c");
  const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
  const j = await p.api.call("POST", "/v1/nodes/join", {
    body: {
      joinToken: jt.body.token,
      name: "n1",
      capacity: { cpuMillis: 8000, memoryBytes: 8 * 1024 ** 3, pods: 50 },
      portRange: { min: 30000, max: 30019 },
      address: "127.0.0.1",
    },
  });
  node = { nodeId: j.body.nodeId, credential: j.body.credential };
  // The node's lease, kept as an agent keeps it.
  beat = setInterval(
    () => void p.api.call("POST", "/v1/nodes/heartbeat", { token: node.credential, body: {} }),
    500,
  );
});
afterAll(async () => {
  clearInterval(beat);
  await second?.close();
  await p.close();
});

describe("the watch", () => {
  it("answers at once with the assignments when the agent's version is not current", async () => {
    const started = Date.now();
    const r = await watch(p.api, undefined, 20_000);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ version: expect.any(String), leave: false, pods: [] });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("waits outside the foreground: a waiting agent never holds back the slices of large lists", async () => {
    const { version } = (await watch(p.api, undefined, 0)).body;
    const held = watch(p.api, version, 1_500);
    // Sampled while the watch waits (the lease's heartbeats are small calls and come and go).
    const samples: number[] = [];
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 20));
      samples.push(foregroundCalls());
    }
    expect(samples).toContain(0);
    expect((await held).status).toBe(200);
  });

  it("answers after waitMs with the same version when nothing changes", async () => {
    const { version } = (await watch(p.api, undefined, 0)).body;
    const started = Date.now();
    const r = await watch(p.api, version, 1_000);
    expect(r.body.version).toBe(version);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("answers the moment a pod is bound to the node, with the pod to run", async () => {
    const { version } = (await watch(p.api, undefined, 0)).body;
    const held = watch(p.api, version, 20_000);
    await deploy("pushed", web(1));
    const r = await held;
    const [pod] = await podsOf("pushed");
    expect(r.body.pods).toEqual([
      expect.objectContaining({ podId: pod?.id, action: "run", hostPorts: [expect.any(Number)] }),
    ]);
    // The answer came with the commit that bound it, not after the wait.
    const [row] = await systemRows(
      p.api.deps.db,
      sql`select extract(epoch from scheduled_at) * 1000 as at from pods where id = ${pod?.id}`,
    );
    expect(Date.now() - Number(row?.at)).toBeLessThan(5_000);
  });

  it("wakes the watches another replica holds: each replica listens for itself", async () => {
    const { version } = (await watch(second, undefined, 0)).body;
    const started = Date.now();
    const held = watch(second, version, 20_000);
    await deploy("pushed", web(2));
    const r = await held;
    expect(r.body.version).not.toBe(version);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("keeps answering on time after the replica's LISTEN connection is cut (as by a Postgres restart)", async () => {
    await p.waitFor("listening", async () => second.deps.assignments.listening);
    await cutListeners();
    const { version } = (await watch(second, undefined, 0)).body;
    const started = Date.now();
    const held = watch(second, version, 20_000);
    await deploy("after-cut", web(1));
    const r = await held;
    expect(r.body.version).not.toBe(version);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("listens again once Postgres takes connections again, and answers what changed meanwhile", async () => {
    const { version } = (await watch(second, undefined, 0)).body;
    const db = p.api.database.name;
    // Postgres "down" for the listener: its connections cut, new ones refused for a few seconds.
    await systemRows(p.api.deps.db, sql`select 1`);
    const admin = postgres(p.api.database.migrationUrl, { max: 1, onnotice: () => {} });
    try {
      // Only the system role (which the listener uses) is refused; tenant requests go on.
      await admin.unsafe(`revoke connect on database "${db}" from public`);
      await admin.unsafe(`grant connect on database "${db}" to berth_app, berth`);
      await cutListeners();
      await p.waitFor("the loss noticed", async () => !second.deps.assignments.listening, 15_000);
      const held = watch(second, version, 20_000);
      await deploy("while-down", web(1));
      await new Promise((r) => setTimeout(r, 1_500));
      await admin.unsafe(`grant connect on database "${db}" to public`);
      const started = Date.now();
      const r = await held;
      expect(r.body.version).not.toBe(version);
      expect(Date.now() - started).toBeLessThan(12_000);
      await p.waitFor("listening again", async () => second.deps.assignments.listening, 15_000);
    } finally {
      await admin.unsafe(`grant connect on database "${db}" to public`).catch(() => {});
      await admin.end();
    }
  });

  it("refuses hostile query strings with 400", async () => {
    for (const q of ["waitMs=1e400", "waitMs=-1", "version=%00", "version=a%2Fb", "other=1"]) {
      const r = await p.api.call("GET", `/v1/nodes/watch?${q}`, { token: node.credential });
      expect(r.status, q).toBe(400);
    }
  });
});

describe("the network view's long poll", () => {
  const view = (api: TestApi, version: string | undefined, waitMs?: number) =>
    api.call(
      "GET",
      `/v1/nodes/network${waitMs === undefined ? "" : `?waitMs=${waitMs}&version=${version ?? ""}`}`,
      { token: node.credential },
    );
  const service = (name: string, port: number) =>
    p.api.call("POST", `/v1/clusters/${clusterId}/apply`, {
      token,
      body: [
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name },
          spec: { selector: { app: name }, ports: [{ port }] },
        },
      ],
    });

  it("answers at once when the agent's view is not current, and after waitMs when nothing changes", async () => {
    const current = await view(p.api, undefined);
    expect(current.status).toBe(200);
    let started = Date.now();
    const stale = await view(p.api, "old", 20_000);
    expect(stale.body.version).toBe(current.body.version);
    expect(Date.now() - started).toBeLessThan(2_000);
    started = Date.now();
    const same = await view(p.api, current.body.version, 1_000);
    expect(same.body.version).toBe(current.body.version);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("answers the moment a Service is committed, on whichever replica holds it", async () => {
    for (const [api, name] of [
      [p.api, "pushed-a"],
      [second, "pushed-b"],
    ] as const) {
      const { version } = (await view(api, undefined)).body;
      const started = Date.now();
      const held = view(api, version, 20_000);
      await new Promise((r) => setTimeout(r, 200));
      expect((await service(name, 80)).status).toBe(200);
      const r = await held;
      expect(r.body.version).not.toBe(version);
      expect(r.body.services.map((x: { name: string }) => x.name)).toContain(name);
      expect(Date.now() - started).toBeLessThan(10_000);
    }
  });

  it("refuses hostile query strings with 400", async () => {
    for (const q of ["waitMs=1e400", "waitMs=-1", "version=%00", "version=a%2Fb", "other=1"]) {
      const r = await p.api.call("GET", `/v1/nodes/network?${q}`, { token: node.credential });
      expect(r.status, q).toBe(400);
    }
  });
});

describe("status reports", () => {
  it("store the host ports something else holds, within the node's range, and the scheduler avoids them", async () => {
    const r = await sync({ pods: [], reservedHostPorts: [30001, 30001, 30002, 29999, 40000] });
    expect(r.status).toBe(200);
    const [row] = await systemRows(
      p.api.deps.db,
      sql`select reserved_host_ports from nodes where id = ${node.nodeId}`,
    );
    expect(row?.reserved_host_ports).toEqual([30001, 30002]);
    await deploy("ports", web(3, 2));
    const pods = await p.waitFor("placed", async () => {
      const list = await podsOf("ports");
      return list.length === 3 && list.every((x) => x.hostPorts.length === 2) && list;
    });
    const handedOut = pods.flatMap((x) => x.hostPorts);
    expect(handedOut).not.toContain(30001);
    expect(handedOut).not.toContain(30002);
  });

  it("turn an evicted pod Failed with its reason, and its controller replaces it", async () => {
    await deploy("evicted", web(1));
    const [pod] = await p.waitFor("placed", async () => {
      const list = await podsOf("evicted");
      return list.length === 1 && list[0]?.hostPorts.length === 1 && list;
    });
    const message = "ephemeral-storage usage 310Mi exceeds the limit of 256Mi";
    await sync({
      pods: [{ podId: pod?.id, state: "failed", restarts: 0, ready: false, reason: "Evicted", message }],
    });
    const failed = (await podsOf("evicted")).find((x) => x.id === pod?.id);
    expect(failed).toMatchObject({ phase: "Failed", reason: "Evicted", message });
    const told = await sync({ pods: [] });
    expect(told.body.pods.find((a: { podId: string }) => a.podId === pod?.id)).toBeUndefined();
    await p.waitFor("replaced", async () => {
      const list = await podsOf("evicted");
      return list.length === 1 && list[0]?.id !== pod?.id;
    });
    const events = await p.api.call("GET", `/v1/clusters/${clusterId}/events`, { token });
    expect(events.body.items).toContainEqual(expect.objectContaining({ reason: "Evicted", message }));
  });
});

describe("the node routes", () => {
  it("refuse hostile status reports with 400 and store nothing of them", async () => {
    const report = { podId: "pod_x", state: "running", restarts: 0, ready: true };
    for (const body of [
      { pods: [{ ...report, podId: "pod_\u0000" }] },
      { pods: [{ ...report, podId: "../../etc" }] },
      { pods: [{ ...report, message: "a\u0000b" }] },
      { pods: [{ ...report, message: "\uD800" }] },
      { pods: [{ ...report, restarts: 1e308 }] },
      { pods: [{ ...report, reason: "Whatever" }] },
      { pods: [], reservedHostPorts: [1e308] },
      { pods: [], reservedHostPorts: [0] },
      { pods: [], reservedHostPorts: Array.from({ length: 70_000 }, () => 30_000) },
      { pods: [report, report] },
      { pods: "x" },
    ]) {
      const r = await sync(body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBeGreaterThanOrEqual(400);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBeLessThan(500);
    }
  });

  it("show the reserved host ports in the node listing", async () => {
    await sync({ pods: [], reservedHostPorts: [30003] });
    const nodes = await p.api.call("GET", `/v1/clusters/${clusterId}/nodes`, { token });
    expect(nodes.body.items[0].reservedHostPorts).toEqual([30003]);
  });
});

describe("heartbeats", () => {
  it("renew the lease and nothing else", async () => {
    const before = await systemRows(
      p.api.deps.db,
      sql`select last_heartbeat_at from nodes where id = ${node.nodeId}`,
    );
    await new Promise((r) => setTimeout(r, 50));
    const r = await p.api.call("POST", "/v1/nodes/heartbeat", { token: node.credential, body: {} });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ nodeId: node.nodeId, leave: false, heartbeatIntervalMs: 2000 });
    const after = await systemRows(
      p.api.deps.db,
      sql`select last_heartbeat_at from nodes where id = ${node.nodeId}`,
    );
    expect(new Date(after[0]?.last_heartbeat_at as string).getTime()).toBeGreaterThan(
      new Date(before[0]?.last_heartbeat_at as string).getTime(),
    );
    expect(
      (await p.api.call("POST", "/v1/nodes/heartbeat", { token: node.credential, body: { x: 1 } })).status,
    ).toBe(400);
  });
});
