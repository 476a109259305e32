import { randomBytes } from "node:crypto";
import { createLogger } from "@berth/core";
import { testRedisUrl } from "@berth/db/testing";
import type { StreamEnd, StreamMessage } from "@berth/protocol";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_REDIS_OPTIONS } from "../src/app";
import type { Deps, NodeCaller } from "../src/deps";
import type { RequestMeta } from "../src/operation";
import { pollStreams } from "../src/streams/attach";
import { createStreamBus, type StreamBus } from "../src/streams/bus";
import { createStreamRegistry } from "../src/streams/registry";
import { openRelay } from "../src/streams/relay";

/**
 * A stream's two ends over real Redis, each on a bus of its own as two API replicas would have:
 * data in order, never more than the window in flight, the end said once, silence and a lost
 * subscriber connection ending the stream.
 */
const logger = createLogger("control-api", "silent");
const prefix = `test-relay-${randomBytes(4).toString("hex")}`;
let redisA: Redis;
let redisB: Redis;
let busA: StreamBus;
let busB: StreamBus;

beforeAll(async () => {
  redisA = new Redis(testRedisUrl(), API_REDIS_OPTIONS);
  redisB = new Redis(testRedisUrl(), API_REDIS_OPTIONS);
  busA = createStreamBus({ redis: redisA, prefix, logger });
  busB = createStreamBus({ redis: redisB, prefix, logger });
  await Promise.all([busA.start(), busB.start()]);
});
afterAll(async () => {
  await Promise.all([busA.stop(), busB.stop()]);
  await Promise.all([redisA.quit(), redisB.quit()]);
});

const id = () => `str_${randomBytes(24).toString("base64url")}`;
const data = (n: number, fill: number): StreamMessage => ({
  type: "data",
  channel: 1,
  payload: Buffer.alloc(n, fill),
});

/** Kills the subscriber connection of the bus whose Redis client is named `name` (no one else's). */
async function killSubscriber(name: string): Promise<void> {
  const clients = (await redisA.client("LIST")) as string;
  const subscriber = clients
    .split("\n")
    .filter((l) => l.includes(` name=${name} `) && / sub=[1-9]/.test(l))
    .map((l) => /id=(\d+)/.exec(l)?.[1]);
  expect(subscriber).toHaveLength(1);
  for (const cid of subscriber) if (cid) await redisA.client("KILL", "ID", cid);
}

describe("the relay between a stream's two ends", () => {
  it("delivers in order, and never lets more than the window be in flight before it is acknowledged", async () => {
    const streamId = id();
    const got: StreamMessage[] = [];
    const client = await openRelay({
      bus: busA,
      streamId,
      side: "client",
      peerPresent: false,
      onMessage: (m) => got.push(m),
    });
    const node = await openRelay({
      bus: busB,
      streamId,
      side: "node",
      peerPresent: true,
      windowBytes: 64 * 1024,
      onMessage: () => {},
    });
    let sent = 0;
    const sending = (async () => {
      for (let i = 0; i < 32; i++) {
        await node.send(data(16 * 1024, i));
        sent++;
      }
      await node.end({ ok: true });
    })();
    // Nothing delivered yet: the sender stops at the window (4 × 16 KiB).
    await new Promise((r) => setTimeout(r, 300));
    expect(sent).toBe(4);
    // The client passes on what it has, and keeps doing so: everything arrives, in order.
    let delivered = 0;
    const deliver = setInterval(() => {
      const bytes = got.reduce((n, m) => n + (m.type === "data" ? m.payload.byteLength : 0), 0);
      client.delivered(bytes - delivered);
      delivered = bytes;
    }, 5);
    await sending;
    const end = await client.done;
    clearInterval(deliver);
    expect(end).toEqual({ ok: true });
    const chunks = got.filter((m) => m.type === "data");
    expect(chunks).toHaveLength(32);
    expect(chunks.map((m) => (m.type === "data" ? m.payload[0] : -1))).toEqual([...Array(32).keys()]);
    expect(got.at(-1)).toEqual({ type: "end", end: { ok: true } });
  });

  it("ends the other side when one side ends, once, with its reason", async () => {
    const streamId = id();
    const ends: StreamEnd[] = [];
    const client = await openRelay({
      bus: busA,
      streamId,
      side: "client",
      peerPresent: false,
      onMessage: () => {},
    });
    const node = await openRelay({
      bus: busB,
      streamId,
      side: "node",
      peerPresent: true,
      onMessage: (m) => m.type === "end" && ends.push(m.end),
    });
    await client.end({ ok: false, reason: "ClientGone" });
    await client.end({ ok: false, reason: "Again" });
    expect(await node.done).toEqual({ ok: false, reason: "ClientGone" });
    expect(ends).toEqual([{ ok: false, reason: "ClientGone" }]);
    expect(node.ended && client.ended).toBe(true);
  });

  it("ends a stream whose other end falls silent", async () => {
    const client = await openRelay({
      bus: busA,
      streamId: id(),
      side: "client",
      peerPresent: true,
      pingMs: 50,
      peerTimeoutMs: 200,
      onMessage: () => {},
    });
    expect(await client.done).toMatchObject({ ok: false, reason: "Gone" });
  });

  it("ends every stream of a replica whose subscriber connection was lost, as its drop policy says", async () => {
    const name = `relay-test-${randomBytes(4).toString("hex")}`;
    const redis = new Redis(testRedisUrl(), { ...API_REDIS_OPTIONS, connectionName: name });
    const bus = createStreamBus({ redis, prefix, logger });
    await bus.start();
    const relay = await openRelay({
      bus,
      streamId: id(),
      side: "client",
      peerPresent: false,
      onMessage: () => {},
    });
    await killSubscriber(name);
    expect(await relay.done).toMatchObject({ ok: false, reason: "Interrupted" });
    await bus.stop();
    await redis.quit();
  });
});

describe("a node's stream poll", () => {
  it("answers a stream whose wake-up was lost with the subscriber connection as soon as it is back", async () => {
    const name = `poll-test-${randomBytes(4).toString("hex")}`;
    const redis = new Redis(testRedisUrl(), { ...API_REDIS_OPTIONS, connectionName: name });
    const bus = createStreamBus({ redis, prefix, logger });
    await bus.start();
    const registry = createStreamRegistry(redis, bus);
    const nodeId = `node_${randomBytes(6).toString("hex")}`;
    const started = Date.now();
    const poll = pollStreams(
      { streams: { registry, bus } } as unknown as Deps,
      { nodeId } as NodeCaller,
      { waitMs: 30_000 },
      {} as RequestMeta,
    );
    await new Promise((r) => setTimeout(r, 200));
    // A stream is asked of the node, and its wake-up is lost: the subscriber connection goes.
    const request = {
      kind: "logs" as const,
      streamId: id(),
      podId: "pod_lost",
      container: "web",
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      logs: { follow: false, previous: false, timestamps: false, limitBytes: 1024 },
    };
    await redis.set(
      bus.key("req", request.streamId),
      JSON.stringify({ tenantId: "t", clusterId: "c", nodeId, request }),
    );
    await redis.zadd(bus.key("pending", nodeId), Date.parse(request.expiresAt), request.streamId);
    await killSubscriber(name);
    // The subscriber's return wakes the poll, which finds it: long before the poll's 30 s.
    const reply = await poll;
    expect(reply.requests.map((r) => r.streamId)).toEqual([request.streamId]);
    expect(Date.now() - started).toBeLessThan(10_000);
    await bus.stop();
    await redis.quit();
  });
});
