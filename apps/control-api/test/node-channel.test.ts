import { events, nodes, withSystem } from "@berth/db";
import {
  HEARTBEAT_INTERVAL_MS,
  NODE_CHANNEL_LEASE_HEADER,
  NODE_CHANNEL_MAX_IN_FLIGHT,
  NODE_CHANNEL_PATH,
} from "@berth/protocol";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createTestApi, type TestApi } from "../src/testing";
import { addPod, tenantWithNode, webDeployment } from "./workload-support";

/**
 * The node channel: one WebSocket carrying a node's calls, each authenticated, validated and run
 * as its REST request would be, answered by id in any order.
 */
let api: TestApi;
let url: string;
let close: () => Promise<void>;
let node: Awaited<ReturnType<typeof tenantWithNode>>;
beforeAll(async () => {
  api = await createTestApi();
  ({ url, close } = await api.listen());
  node = await tenantWithNode(api, "channel");
});
afterAll(async () => {
  await close?.();
  await api?.close();
});

interface Reply {
  id: number;
  status: number;
  body?: Record<string, unknown>;
  error?: { code: string; message: string };
}

/** A channel of the node's, with `call` matching replies to calls by id (`autoPong: false`: a hung agent). */
async function channel(credential = node.credential, o: { autoPong?: boolean } = {}) {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}${NODE_CHANNEL_PATH}`, {
    headers: { authorization: `Bearer ${credential}` },
    autoPong: o.autoPong ?? true,
  });
  let lease: string | undefined;
  ws.once("upgrade", (res) => {
    lease = res.headers[NODE_CHANNEL_LEASE_HEADER] as string | undefined;
  });
  await new Promise<void>((ok, fail) => {
    ws.once("open", () => ok());
    ws.once("error", fail);
  });
  const waiting = new Map<number, (r: Reply) => void>();
  ws.on("message", (data: Buffer) => {
    const r = JSON.parse(data.toString()) as Reply;
    waiting.get(r.id)?.(r);
  });
  let next = 1;
  return {
    ws,
    lease,
    call(op: string, input: unknown, o: { credential?: string } = {}): Promise<Reply> {
      const id = next++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        ws.send(JSON.stringify({ id, op, credential: o.credential ?? node.credential, input }));
      });
    },
    closed: () => new Promise<number>((ok) => ws.once("close", (code) => ok(code))),
  };
}

/** The node's lease (its last renewal, epoch ms) and status. */
async function leaseOf(nodeId = node.nodeId) {
  const [row] = await withSystem(api.deps.db, (tx) =>
    tx.select({ at: nodes.lastHeartbeatAt, status: nodes.status }).from(nodes).where(eq(nodes.id, nodeId)),
  );
  return { at: row?.at?.getTime() ?? 0, status: row?.status };
}
const read = async () => (await leaseOf()).at;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the node channel", () => {
  it("is opened only with a node credential: without one the upgrade is answered 401", async () => {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}${NODE_CHANNEL_PATH}`);
    const status = await new Promise<number>((ok) =>
      ws.once("unexpected-response", (_req, res) => ok(res.statusCode ?? 0)),
    );
    expect(status).toBe(401);
  });

  it("renews the node's lease with a heartbeat, as the REST call does", async () => {
    const c = await channel();
    const before = await read();
    await new Promise((r) => setTimeout(r, 20));
    const r = await c.call("nodes.heartbeat", {});
    expect(r).toMatchObject({ id: 1, status: 200, body: { nodeId: node.nodeId, leave: false } });
    expect(await read()).toBeGreaterThan(before);
    c.ws.close();
  });

  it("answers bad calls by id with the REST status and code, and stays open", async () => {
    const c = await channel();
    const invalid = await c.call("nodes.heartbeat", { agentVersion: 42 });
    expect(invalid).toMatchObject({ status: 400, error: { code: "VALIDATION_FAILED" } });
    const unknown = await c.call("clusters.delete", {});
    expect(unknown).toMatchObject({ status: 404, error: { code: "NOT_FOUND" } });
    const refused = await c.call("nodes.heartbeat", {}, { credential: "not.a.credential" });
    expect(refused).toMatchObject({ status: 401, error: { code: "UNAUTHENTICATED" } });
    const huge = await c.call("nodes.sync", { pods: [], padding: "x".repeat(api.deps.bodyLimitBytes) });
    expect(huge).toMatchObject({ status: 413, error: { code: "PAYLOAD_TOO_LARGE" } });
    expect((await c.call("nodes.heartbeat", {})).status).toBe(200);
    c.ws.close();
  });

  it("refuses hostile calls with a 4xx by id (NUL bytes, lone surrogates, huge numbers, another tenant's node), never a 5xx", async () => {
    const other = await tenantWithNode(api, "channel-other");
    const c = await channel();
    const nul = await c.call("nodes.heartbeat", { agentVersion: "0.1.0\u0000" });
    expect(nul).toMatchObject({ status: 400, error: { code: "VALIDATION_FAILED" } });
    const surrogate = await c.call("nodes.sync", { pods: [], events: [{ message: "\ud800" }] });
    expect(surrogate).toMatchObject({ status: 400, error: { code: "VALIDATION_FAILED" } });
    const huge = await c.call("nodes.watch", { waitMs: "1e309" });
    expect(huge).toMatchObject({ status: 400, error: { code: "VALIDATION_FAILED" } });
    const wrongShape = await c.call("nodes.sync", { pods: [{ podId: 12, state: "running" }] });
    expect(wrongShape).toMatchObject({ status: 400, error: { code: "VALIDATION_FAILED" } });
    const strange = await c.call("nodes.\ud800\u0000", {});
    expect(strange).toMatchObject({ status: 404, error: { code: "NOT_FOUND" } });
    const theirs = await c.call("nodes.heartbeat", {}, { credential: other.credential });
    expect(theirs).toMatchObject({ status: 403, error: { code: "FORBIDDEN" } });
    expect((await c.call("nodes.heartbeat", {})).status).toBe(200);
    c.ws.close();
  });

  it("closes with 1007 on a call whose id is not a whole number it can answer", async () => {
    for (const id of ["1", -1, 1.5, 1e300]) {
      const c = await channel();
      const closed = c.closed();
      c.ws.send(JSON.stringify({ id, op: "nodes.heartbeat", credential: node.credential, input: {} }));
      expect(await closed, String(id)).toBe(1007);
    }
  });

  it("pushes assignments: a watch held on the channel answers once a pod is bound to the node", async () => {
    const web = await webDeployment(api, node);
    const c = await channel();
    const first = await c.call("nodes.watch", { waitMs: "0" });
    expect(first.status).toBe(200);
    const version = first.body?.version as string;
    // Answered out of order: the held watch, then a heartbeat made after it, answered first.
    const held = c.call("nodes.watch", { waitMs: "10000", version });
    expect((await c.call("nodes.heartbeat", {})).status).toBe(200);
    const started = performance.now();
    const podId = await addPod(api, {
      tenantId: node.tenantId,
      clusterId: node.clusterId,
      namespace: "default",
      name: "web-1",
      template: web.template,
      owner: { kind: "Deployment", id: web.deploymentId },
      nodeId: node.nodeId,
    });
    const pushed = await held;
    expect(pushed.status).toBe(200);
    expect(((pushed.body?.pods ?? []) as { podId: string }[]).map((x) => x.podId)).toContain(podId);
    expect(performance.now() - started).toBeLessThan(5_000);
    c.ws.close();
  });

  it(`refuses more than ${NODE_CHANNEL_MAX_IN_FLIGHT} calls in flight with 429, and closes on a message that is not a call`, async () => {
    const c = await channel();
    const { version } = (await c.call("nodes.watch", { waitMs: "0" })).body as { version: string };
    const held = Array.from({ length: NODE_CHANNEL_MAX_IN_FLIGHT }, () =>
      c.call("nodes.watch", { waitMs: "3000", version }),
    );
    const over = await c.call("nodes.heartbeat", {});
    expect(over).toMatchObject({ status: 429, error: { code: "RATE_LIMITED" } });
    expect((await Promise.all(held)).every((r) => r.status === 200)).toBe(true);
    const closed = c.closed();
    c.ws.send("not json");
    expect(await closed).toBe(1007);
  });
});

describe("a node channel holding the node's lease", () => {
  it("says so at the handshake, and renews the lease every interval with no call made", async () => {
    const c = await channel();
    expect(c.lease).toBe(String(HEARTBEAT_INTERVAL_MS));
    const before = await read();
    await sleep(2.5 * HEARTBEAT_INTERVAL_MS);
    const first = await read();
    expect(first).toBeGreaterThan(before);
    await sleep(HEARTBEAT_INTERVAL_MS + 500);
    expect(await read()).toBeGreaterThan(first);
    // Closed: the renewals stop, and the lease is left to lapse.
    c.ws.close();
    await sleep(500);
    const last = await read();
    await sleep(2 * HEARTBEAT_INTERVAL_MS);
    expect(await read()).toBe(last);
  });

  it("keeps renewing every other channel's lease while one node's row is held by another transaction", async () => {
    const other = await tenantWithNode(api, "channel-held");
    const a = await channel();
    const b = await channel(other.credential);
    await sleep(HEARTBEAT_INTERVAL_MS + 500);
    // Another transaction (as the sweep lapsing it) holds the other node's row for four intervals.
    let release: () => void = () => {};
    const released = new Promise<void>((r) => (release = r));
    let locked: () => void = () => {};
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = withSystem(api.deps.db, async (tx) => {
      await tx.select().from(nodes).where(eq(nodes.id, other.nodeId)).for("update");
      locked();
      await released;
    });
    await isLocked;
    const heldAt = (await leaseOf(other.nodeId)).at;
    const first = await read();
    await sleep(2 * HEARTBEAT_INTERVAL_MS + 500);
    const second = await read();
    await sleep(HEARTBEAT_INTERVAL_MS + 500);
    // This node's lease went on being renewed: no batch waited behind the held row.
    expect(second).toBeGreaterThan(first);
    expect(await read()).toBeGreaterThan(second);
    release();
    await holder;
    // The held node is renewed again once its row is free (its own renewal waited for it alone).
    const deadline = Date.now() + 3 * HEARTBEAT_INTERVAL_MS;
    while ((await leaseOf(other.nodeId)).at <= heldAt && Date.now() < deadline) await sleep(100);
    expect((await leaseOf(other.nodeId)).at).toBeGreaterThan(heldAt);
    a.ws.close();
    b.ws.close();
  });

  it("renews nothing for an agent that stops answering its pings", async () => {
    const c = await channel(node.credential, { autoPong: false });
    // Heard at the handshake: renewed within the first intervals, then silent.
    await sleep(3.5 * HEARTBEAT_INTERVAL_MS);
    const last = await read();
    await sleep(2 * HEARTBEAT_INTERVAL_MS);
    expect(await read()).toBe(last);
    c.ws.close();
  });

  it("brings a node back from not_ready through the heartbeat's own path, with its event", async () => {
    const other = await tenantWithNode(api, "channel-back");
    await withSystem(api.deps.db, (tx) =>
      tx
        .update(nodes)
        .set({ status: "not_ready", statusReason: "lease expired" })
        .where(eq(nodes.id, other.nodeId)),
    );
    const c = await channel(other.credential);
    const deadline = Date.now() + 3 * HEARTBEAT_INTERVAL_MS;
    while ((await leaseOf(other.nodeId)).status !== "ready" && Date.now() < deadline) await sleep(100);
    expect((await leaseOf(other.nodeId)).status).toBe("ready");
    const back = await withSystem(api.deps.db, (tx) =>
      tx
        .select()
        .from(events)
        .where(and(eq(events.objectName, `channel-back-node`), eq(events.reason, "NodeReady"))),
    );
    expect(back).toHaveLength(1);
    c.ws.close();
  });

  it("closes the channel of a node that left its cluster (1008), renewing nothing", async () => {
    const other = await tenantWithNode(api, "channel-left");
    const c = await channel(other.credential);
    const closed = c.closed();
    await withSystem(api.deps.db, (tx) =>
      tx.update(nodes).set({ status: "left" }).where(eq(nodes.id, other.nodeId)),
    );
    const at = (await leaseOf(other.nodeId)).at;
    expect(await closed).toBe(1008);
    expect((await leaseOf(other.nodeId)).at).toBe(at);
  });
});
