import type { AddressInfo } from "node:net";
import { channelLeasesOf } from "@berth/control-api/testing";
import { createControlPlane } from "@berth/node-agent/api";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "./harness";

/**
 * The agent's end of the node channel against the real control plane: its calls go over the
 * channel once it is open, and over HTTP, unharmed, where the channel cannot be opened (a proxy
 * or an older control plane without it).
 */
let p: Platform;
let token: string;
let clusterId: string;
let withSockets: { url: string; close(): Promise<void> };
let plain: { url: string; close(): Promise<void> };

beforeAll(async () => {
  p = await startPlatform();
  ({ token } = await p.api.tenant("channel"));
  clusterId = await p.activeCluster(token, "c");
  withSockets = await p.api.listen();
  // The same API served without WebSockets: an upgrade there is never answered 101.
  const server = serve({ fetch: p.api.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((ok) => server.once("listening", () => ok()));
  plain = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}, 60_000);
afterAll(async () => {
  await withSockets?.close();
  await plain?.close();
  await p?.close();
});

async function channelHeartbeats(): Promise<number> {
  const m = await p.api.deps.metrics.getSingleMetric("berth_node_channel_calls_total")?.get();
  return (m?.values ?? [])
    .filter((v) => v.labels.op === "nodes.heartbeat" && v.labels.status === "200")
    .reduce((n, v) => n + v.value, 0);
}

async function joined(server: string, name: string, states: boolean[]) {
  const cp = createControlPlane(server, { channel: true, onChannelState: (open) => states.push(open) });
  const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token, body: {} });
  const node = await cp.join({
    joinToken: jt.body.token,
    name,
    capacity: { cpuMillis: 1000, memoryBytes: 1024 ** 3, pods: 10 },
    portRange: { min: 30000, max: 30010 },
    address: "127.0.0.1",
    labels: {},
  });
  return { cp, node };
}

describe("the node channel, from the agent", () => {
  it("carries the calls once it is open", async () => {
    const states: boolean[] = [];
    const { cp, node } = await joined(withSockets.url, "over-channel", states);
    try {
      const before = await channelHeartbeats();
      // The first call opens the channel and goes over HTTP meanwhile; the next ones go over it.
      await p.waitFor(
        "a heartbeat over the channel",
        async () =>
          (await cp.heartbeat(node.credential)).nodeId === node.nodeId &&
          (await channelHeartbeats()) > before,
        10_000,
      );
      expect(states).toEqual([true]);
      const watched = await cp.watch(node.credential, { version: undefined, waitMs: 0 });
      expect(watched.pods).toEqual([]);
    } finally {
      cp.close();
    }
    expect(states).toEqual([true, false]);
  });

  it("knows when the control plane holds its lease through the channel, and drops a channel whose pings stop", async () => {
    const states: boolean[] = [];
    const { cp, node } = await joined(withSockets.url, "lease-holder", states);
    try {
      expect(cp.channelHoldsLease()).toBe(false); // not open yet
      await p.waitFor(
        "the channel open",
        async () => (await cp.heartbeat(node.credential)) && cp.channelHoldsLease(),
        10_000,
      );
      // The API's pings stop (its leases paused): after three intervals the agent gives the channel up.
      channelLeasesOf(p.api.deps).stop();
      await p.waitFor(
        "the channel given up",
        async () => !cp.channelHoldsLease() && states.at(-1) === false,
        15_000,
      );
      expect(states).toEqual([true, false]);
    } finally {
      cp.close();
    }
  });

  it("goes over HTTP where the channel cannot be opened, and the calls still succeed", async () => {
    const states: boolean[] = [];
    const { cp, node } = await joined(plain.url, "over-http", states);
    try {
      const before = await channelHeartbeats();
      for (let i = 0; i < 5; i++) {
        expect((await cp.heartbeat(node.credential)).nodeId).toBe(node.nodeId);
        await new Promise((r) => setTimeout(r, 50));
      }
      const reply = await cp.sync(node.credential, { pods: [] });
      expect(reply.nodeId).toBe(node.nodeId);
      expect(await channelHeartbeats()).toBe(before);
      expect(states).toEqual([]);
      expect(cp.channelHoldsLease()).toBe(false);
    } finally {
      cp.close();
    }
  });
});
