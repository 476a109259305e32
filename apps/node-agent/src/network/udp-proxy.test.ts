import { createSocket, type Socket } from "node:dgram";
import type { NetworkEndpoint, NetworkService } from "@berth/protocol";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { UdpServiceProxy } from "./udp-proxy";

/** A UDP server on loopback that answers each datagram with its name and what it got. */
async function echo(name: string): Promise<{ socket: Socket; port: number; seen: string[] }> {
  const socket = createSocket("udp4");
  const seen: string[] = [];
  socket.on("message", (msg, from) => {
    seen.push(`${from.address}:${from.port}`);
    socket.send(`${name}:${msg.toString()}`, from.port, from.address);
  });
  await new Promise<void>((ok) => socket.bind(0, "127.0.0.1", ok));
  return { socket, port: socket.address().port, seen };
}

async function freePort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((ok) => s.bind(0, "127.0.0.1", ok));
  const { port } = s.address();
  s.close();
  return port;
}

/** A client socket: sends to the service and waits for one reply (from whom, and what). */
async function client() {
  const socket = createSocket("udp4");
  await new Promise<void>((ok) => socket.bind(0, "127.0.0.1", ok));
  const ask = (port: number, text: string, timeoutMs = 1_000) =>
    new Promise<{ text: string; from: string } | null>((ok) => {
      const timer = setTimeout(() => {
        socket.off("message", on);
        ok(null);
      }, timeoutMs);
      const on = (msg: Buffer, from: { address: string; port: number }) => {
        clearTimeout(timer);
        socket.off("message", on);
        ok({ text: msg.toString(), from: `${from.address}:${from.port}` });
      };
      socket.on("message", on);
      socket.send(text, port, "127.0.0.1");
    });
  return { socket, ask };
}

const ep = (name: string, port: number): NetworkEndpoint => ({
  podId: `pod_${name}`,
  ip: "127.0.0.1",
  port,
  nodeName: "n1",
});

const svc = (
  port: number,
  endpoints: NetworkEndpoint[],
  more: Partial<NetworkService> = {},
): NetworkService => ({
  namespace: "default",
  name: "dns",
  clusterIP: "127.0.0.1",
  sessionAffinity: "None",
  affinityTimeoutSeconds: 0,
  ports: [{ name: "dns", port, protocol: "UDP", endpoints }],
  ...more,
});

const open: Socket[] = [];
const proxies: UdpServiceProxy[] = [];
afterEach(() => {
  for (const p of proxies.splice(0)) p.stop();
  for (const s of open.splice(0)) s.close();
});

function proxy(more: Partial<ConstructorParameters<typeof UdpServiceProxy>[0]> = {}) {
  const p = new UdpServiceProxy({
    allowed: () => true,
    usable: () => true,
    reachable: () => true,
    logger: pino({ level: "silent" }),
    ...more,
  });
  proxies.push(p);
  return p;
}

describe("the UDP service proxy", () => {
  it("keeps each client flow on one endpoint, spreads flows round robin, answers from the service address", async () => {
    const [a, b] = [await echo("a"), await echo("b")];
    open.push(a.socket, b.socket);
    const port = await freePort();
    const p = proxy();
    await p.update([svc(port, [ep("a", a.port), ep("b", b.port)])]);
    const c1 = await client();
    const c2 = await client();
    open.push(c1.socket, c2.socket);
    const first = await c1.ask(port, "1");
    expect(first?.from).toBe(`127.0.0.1:${port}`);
    const again = await c1.ask(port, "2");
    expect(again?.text.split(":")[0]).toBe(first?.text.split(":")[0]);
    const other = await c2.ask(port, "3");
    expect(other?.text.split(":")[0]).not.toBe(first?.text.split(":")[0]);
    expect(p.flowCount).toBe(2);
    // The endpoints see the proxy's own socket of each flow, one per client.
    expect(new Set([...a.seen, ...b.seen]).size).toBe(2);
  });

  it("under ClientIP affinity sends every flow of a client address to its endpoint", async () => {
    const [a, b] = [await echo("a"), await echo("b")];
    open.push(a.socket, b.socket);
    const port = await freePort();
    const p = proxy();
    await p.update([
      svc(port, [ep("a", a.port), ep("b", b.port)], {
        sessionAffinity: "ClientIP",
        affinityTimeoutSeconds: 60,
      }),
    ]);
    const names = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const c = await client();
      open.push(c.socket);
      names.add((await c.ask(port, "x"))?.text.split(":")[0] ?? "none");
    }
    expect(names.size).toBe(1);
  });

  it("moves a flow whose endpoint left the endpoints, and forgets idle flows", async () => {
    const [a, b] = [await echo("a"), await echo("b")];
    open.push(a.socket, b.socket);
    const port = await freePort();
    const p = proxy({ idleMs: 300 });
    await p.update([svc(port, [ep("a", a.port), ep("b", b.port)])]);
    const c = await client();
    open.push(c.socket);
    const first = (await c.ask(port, "1"))?.text.split(":")[0];
    const gone = first === "a" ? a : b;
    const stays = first === "a" ? "b" : "a";
    await p.update([svc(port, [ep(stays, (first === "a" ? b : a).port)])]);
    expect((await c.ask(port, "2"))?.text).toBe(`${stays}:2`);
    expect(gone.seen).toHaveLength(1);
    expect(p.stats.moved).toBe(1);
    await new Promise((r) => setTimeout(r, 700));
    expect(p.flowCount).toBe(0);
  });

  it("drops datagrams of clients not allowed, of endpoints a policy forbids, and with no endpoint", async () => {
    const a = await echo("a");
    open.push(a.socket);
    const port = await freePort();
    const p = proxy({ allowed: (s) => s !== "127.0.0.1" });
    await p.update([svc(port, [ep("a", a.port)])]);
    const c = await client();
    open.push(c.socket);
    expect(await c.ask(port, "1", 300)).toBeNull();
    p.stop();
    const q = proxy({ permits: () => false });
    await q.update([svc(port, [ep("a", a.port)])]);
    expect(await c.ask(port, "2", 300)).toBeNull();
    await q.update([svc(port, [])]);
    expect(await c.ask(port, "3", 300)).toBeNull();
    expect(a.seen).toHaveLength(0);
    expect(q.stats.dropped).toBe(2);
  });

  it("serves no headless service and no TCP port", async () => {
    const p = proxy();
    const port = await freePort();
    await p.update([
      svc(port, [], { clusterIP: "None" }),
      { ...svc(port, []), ports: [{ name: "", port, protocol: "TCP", endpoints: [] }] },
    ]);
    expect(p.incomplete).toBe(false);
    const c = await client();
    open.push(c.socket);
    // Nothing listens: the port is still free to bind.
    const s = createSocket("udp4");
    open.push(s);
    await new Promise<void>((ok, fail) => {
      s.once("error", fail);
      s.bind(port, "127.0.0.1", ok);
    });
  });
});
