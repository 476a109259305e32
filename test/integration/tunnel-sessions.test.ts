import { generateKeyPairSync } from "node:crypto";
import { constants, connect as h2connect } from "node:http2";
import { type AddressInfo, createServer, connect as netConnect, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import { Tunnel, type TunnelOptions } from "@berth/node-agent/tunnel";
import type { NetworkView } from "@berth/protocol";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { joinByApi } from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * The tunnel's sessions and streams, between real tunnels in this process whose certificates and
 * views come from the real control API (nodes joined through it; no containers: a "pod" is a TCP
 * server on 127.0.0.1, which each tunnel here counts as its own pod). tunnel.test.ts carries real
 * containers' traffic through agents' tunnels.
 */
let p: Platform;
let offsetMs = 0;
const a = { token: "", clusterId: "" };
const b = { token: "", clusterId: "" };
const tunnels: Tunnel[] = [];
const servers: Server[] = [];
const logs: string[] = [];
const logger = pino({ level: "debug" }, { write: (line: string) => void logs.push(line) });
const POD = "127.0.0.1";

beforeAll(async () => {
  p = await startPlatform({ api: { now: () => new Date(Date.now() + offsetMs) } });
  ({ token: a.token } = await p.api.tenant("tsess-a"));
  ({ token: b.token } = await p.api.tenant("tsess-b"));
  a.clusterId = await p.activeCluster(a.token, "a");
  b.clusterId = await p.activeCluster(b.token, "b");
}, 60_000);
afterAll(async () => {
  for (const t of tunnels) t.stop();
  for (const s of servers) s.close();
  await p?.close();
});

type Node = Awaited<ReturnType<typeof node>>;
/** A node joined through the API, with a tunnel whose certificates the API issues. */
/** `firstOffsetMs`: the control plane's clock moved by that for the node's first certificate. */
async function node(t: typeof a, name: string, opts: Partial<TunnelOptions> = {}, firstOffsetMs = 0) {
  const j = await joinByApi(p, t, name);
  const issued: string[] = [];
  const make = (port = 0) => {
    const tunnel = new Tunnel({
      clusterId: t.clusterId,
      nodeId: j.id,
      address: "127.0.0.1",
      port,
      isLocalPod: (ip) => ip === POD,
      logger,
      requestCertificate: async (publicKey, tunnelPort) => {
        offsetMs = issued.length === 0 ? firstOffsetMs : 0;
        const r = await p.api
          .call("POST", "/v1/nodes/certificate", { token: j.credential, body: { publicKey, tunnelPort } })
          .finally(() => {
            offsetMs = 0;
          });
        if (r.status !== 200) throw new Error(`certificate: ${r.status} ${r.text}`);
        issued.push(r.body.certificate);
        return r.body;
      },
      ...opts,
    });
    tunnels.push(tunnel);
    return tunnel;
  };
  const tunnel = make();
  await tunnel.start();
  return { ...j, name, tunnel, make, issued };
}
async function viewOf(n: Node): Promise<NetworkView> {
  const r = await p.api.call("GET", "/v1/nodes/network", { token: n.credential });
  expect(r.status, r.text).toBe(200);
  return r.body;
}
const sync = async (...nodes: Node[]) => {
  for (const n of nodes) n.tunnel.update(await viewOf(n));
};
const endpoint = (to: Node, port: number, ip = POD) => ({ podId: "pd_x", ip, port, nodeName: to.name });

async function serve(onConnection: (s: Socket) => void): Promise<number> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on("error", () => {});
    onConnection(s);
  });
  await new Promise<void>((ok) => server.listen(0, POD, ok));
  servers.push(server);
  return (server.address() as AddressInfo).port;
}
/** Sends `body`, ends its side, and resolves with all that came back before the far side ended. */
function exchange(s: Duplex, body: string): Promise<string> {
  return new Promise((ok, fail) => {
    let got = "";
    s.setEncoding("latin1");
    s.on("data", (d: string) => {
      got += d;
    });
    s.on("end", () => ok(got));
    s.on("error", fail);
    s.end(body);
  });
}
const waitUntil = (what: string, check: () => boolean, ms = 5_000) =>
  p.waitFor(what, async () => check(), ms);

describe("the tunnel's sessions and streams", () => {
  let nA: Node;
  let nB: Node;
  let echo: number;

  beforeAll(async () => {
    nA = await node(a, "ts-a");
    nB = await node(a, "ts-b", { limits: { pingIntervalMs: 200, pingTimeoutMs: 1_000 } });
    await sync(nA, nB);
    echo = await serve((s) => s.pipe(s));
  });

  it("carries 200 concurrent connections as streams of one session", async () => {
    const before = nA.tunnel.stats;
    const calls = Array.from({ length: 200 }, async (_, i) => {
      const up = nA.tunnel.dial(endpoint(nB, echo));
      await up.ready;
      return exchange(up.socket, `call ${i} `.repeat(i + 1));
    });
    const replies = await Promise.all(calls);
    expect(replies).toEqual(replies.map((_, i) => `call ${i} `.repeat(i + 1)));
    expect(nA.tunnel.stats.dialled - before.dialled).toBe(200);
    expect(nA.tunnel.stats.handshakes).toBe(1);
    expect(nA.tunnel.stats.sessionsOut).toBe(1);
    expect(nB.tunnel.stats.sessionsIn).toBe(1);
    expect(nB.tunnel.stats.accepted).toBe(200);
    await waitUntil(
      "every stream closed",
      () => nA.tunnel.stats.streamsOut + nB.tunnel.stats.streamsIn === 0,
    );
    // Each call's bytes went over the session (TLS records: a little more than the payload).
    const payload = replies.reduce((n, r) => n + r.length, 0);
    expect(nA.tunnel.stats.sentBytes).toBeGreaterThan(payload);
    expect(nB.tunnel.stats.sentBytes).toBeGreaterThan(payload);
    expect(nB.tunnel.stats.receivedBytes).toBeGreaterThan(payload);
  });

  it("keeps a half-closed connection's other direction, and carries a pod's reset as a reset", async () => {
    const replyAfterEnd = await serve((s) => {
      let n = 0;
      s.on("data", (d: Buffer) => {
        n += d.length;
      });
      s.on("end", () => setTimeout(() => s.end(`got ${n} bytes after your end`), 50));
    });
    const up = nA.tunnel.dial(endpoint(nB, replyAfterEnd));
    await up.ready;
    expect(await exchange(up.socket, "x".repeat(100_000))).toBe("got 100000 bytes after your end");

    const resets = await serve((s) => s.once("data", () => s.resetAndDestroy()));
    const r = nA.tunnel.dial(endpoint(nB, resets));
    await r.ready;
    const code = await new Promise((ok) => {
      r.socket.on("error", () => {});
      r.socket.on("close", () => ok((r.socket as unknown as { rstCode: number }).rstCode));
      r.socket.write("hello");
    });
    expect(code).toBe(constants.NGHTTP2_CONNECT_ERROR);
  });

  it("holds a slow reader's transfer to the streams' flow-control windows (memory stays bounded)", async () => {
    const total = 64 << 20;
    let written = 0;
    const source = await serve((s) => {
      const chunk = Buffer.alloc(64 << 10, 7);
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!s.write(chunk)) return void s.once("drain", pump);
        }
        s.end();
      };
      pump();
    });
    const up = nA.tunnel.dial(endpoint(nB, source));
    await up.ready;
    up.socket.end();
    let read = 0;
    let most = 0;
    // 2 s at 1 MiB/s, far slower than the source could send.
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 20));
      for (let k = 0; k < 5; k++) {
        const c = up.socket.read(4096) as Buffer | null;
        if (!c) break;
        read += c.length;
      }
      most = Math.max(most, written - read);
    }
    console.log(
      `slow reader: at most ${(most / 2 ** 20).toFixed(1)} MiB between the pod's writes and the reader`,
    );
    // Socket buffers on both sides, the stream's 1 MiB window and the streams' own buffers: a few MiB.
    expect(most).toBeLessThan(12 << 20);
    expect(written).toBeLessThan(total / 2);
    read += await new Promise<number>((ok) => {
      let n = 0;
      up.socket.on("data", (c: Buffer) => {
        n += c.length;
      });
      up.socket.on("end", () => ok(n));
    });
    expect(read).toBe(total);
  });

  it("keeps a session's other streams flowing while many of its streams are not read", async () => {
    const source = await serve((s) => {
      const chunk = Buffer.alloc(64 << 10, 1);
      const pump = () => {
        while (s.write(chunk));
        s.once("drain", pump);
      };
      pump();
    });
    // 40 connections whose client reads nothing: each holds its stream's window full, no more.
    const received = nA.tunnel.stats.receivedBytes;
    const stalled = Array.from({ length: 40 }, () => nA.tunnel.dial(endpoint(nB, source)));
    await Promise.all(stalled.map((u) => u.ready));
    await new Promise((r) => setTimeout(r, 500));
    expect(nA.tunnel.stats.sessionsOut).toBe(1);
    const held = nA.tunnel.stats.receivedBytes - received;
    console.log(
      `40 unread streams: ${(held / 2 ** 20).toFixed(1)} MiB received and held by the reading agent`,
    );
    expect(held).toBeGreaterThan(40 * (128 << 10));
    expect(held).toBeLessThan(40 * (256 << 10) + (1 << 20));
    const up = nA.tunnel.dial(endpoint(nB, echo));
    await up.ready;
    expect(await exchange(up.socket, "still flowing")).toBe("still flowing");
    for (const u of stalled) u.socket.destroy();
    await waitUntil("the stalled streams closed", () => nA.tunnel.stats.streamsOut === 0);
  });

  it("opens a second session when one carries its bound of concurrent streams", async () => {
    const c = await node(a, "ts-c", { limits: { maxStreams: 4 } });
    await sync(c, nA, nB);
    const held = await serve(() => {});
    const ups = Array.from({ length: 6 }, () => c.tunnel.dial(endpoint(nB, held)));
    await Promise.all(ups.map((u) => u.ready));
    expect(c.tunnel.stats.handshakes).toBe(2);
    expect(c.tunnel.stats.sessionsOut).toBe(2);
    expect(c.tunnel.stats.streamsOut).toBe(6);
    for (const u of ups) u.socket.destroy();
    await waitUntil("c's streams closed", () => c.tunnel.stats.streamsOut === 0);
  });

  it("refuses a target that is not one of the peer's pods", async () => {
    const refused = nB.tunnel.stats.refused;
    const up = nA.tunnel.dial(endpoint(nB, echo, "127.0.0.2"));
    await expect(up.ready).rejects.toThrow(/refused the target \(403\)/);
    expect(nB.tunnel.stats.refused).toBe(refused + 1);
    expect(logs.some((l) => l.includes("tunnel: refused a stream") && l.includes("127.0.0.2:"))).toBe(true);
  });

  it("refuses a client without a certificate and a node of another cluster", async () => {
    // A node of cluster b with a certificate from b's CA, for a key of its own.
    const other = await joinByApi(p, b, "ts-x");
    const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const issued = await p.api.call("POST", "/v1/nodes/certificate", {
      token: other.credential,
      body: { publicKey: pair.publicKey.export({ type: "spki", format: "pem" }).toString(), tunnelPort: 9 },
    });
    expect(issued.status, issued.text).toBe(200);
    const { refused, accepted } = nB.tunnel.stats;
    const tryConnect = (tls: { cert: string; key: string } | Record<string, never>) =>
      new Promise<string>((ok) => {
        const port = nB.tunnel.port;
        const session = h2connect(`https://127.0.0.1:${port}`, {
          createConnection: () =>
            tlsConnect({ host: "127.0.0.1", port, ALPNProtocols: ["h2"], rejectUnauthorized: false, ...tls }),
        });
        session.on("error", () => {});
        const s = session.request({ ":method": "CONNECT", ":authority": `${POD}:${echo}` });
        s.on("response", (h) => ok(String(h[":status"])));
        s.on("error", () => ok("refused"));
        s.on("close", () => ok("refused"));
      });
    expect(await tryConnect({})).toBe("refused");
    const key = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expect(await tryConnect({ cert: issued.body.certificate, key })).toBe("refused");
    expect(nB.tunnel.stats.refused).toBeGreaterThanOrEqual(refused + 2);
    expect(nB.tunnel.stats.accepted).toBe(accepted);
  });

  it("cuts a removed node's sessions and refuses its new ones", async () => {
    const d = await node(a, "ts-d");
    await sync(d, nB);
    const held = await serve(() => {});
    const up = d.tunnel.dial(endpoint(nB, held));
    await up.ready;
    const view = await viewOf(nB);
    nB.tunnel.update({ ...view, tunnels: view.tunnels?.filter((t) => t.nodeName !== "ts-d") ?? [] });
    await new Promise<void>((ok) => up.socket.once("close", ok));
    const again = d.tunnel.dial(endpoint(nB, echo));
    await expect(again.ready).rejects.toThrow();
    expect(logs.some((l) => l.includes("tunnel: refused a session") && l.includes("not a live node"))).toBe(
      true,
    );
    await sync(nB);
  });

  it("opens a new session when the peer restarts", async () => {
    const up = nA.tunnel.dial(endpoint(nB, echo));
    await up.ready;
    expect(await exchange(up.socket, "before")).toBe("before");
    const handshakes = nA.tunnel.stats.handshakes;
    const port = nB.tunnel.port;
    nB.tunnel.stop();
    await waitUntil("A's session to the stopped B gone", () => nA.tunnel.stats.sessionsOut === 0);
    // B again, as after a restart: a new key and certificate, the same port.
    nB.tunnel = nB.make(port);
    await nB.tunnel.start();
    expect(nB.tunnel.port).toBe(port);
    await sync(nA, nB);
    const next = nA.tunnel.dial(endpoint(nB, echo));
    await next.ready;
    expect(await exchange(next.socket, "after")).toBe("after");
    expect(nA.tunnel.stats.handshakes).toBe(handshakes + 1);
  });

  it("drops a session whose peer stops answering (no FIN) within the ping timeout, then reconnects", async () => {
    // B reaches A through a relay that can freeze its connections: packets lost, nothing closed.
    const aPort = nA.tunnel.port;
    const frozen: Socket[] = [];
    const relay = await serve((s) => {
      const far = netConnect({ host: "127.0.0.1", port: aPort });
      far.on("error", () => {});
      s.pipe(far);
      far.pipe(s);
      frozen.push(s, far);
    });
    const view = await viewOf(nB);
    nB.tunnel.update({
      ...view,
      tunnels: view.tunnels?.map((t) => (t.nodeName === "ts-a" ? { ...t, port: relay } : t)),
    });
    const up = nB.tunnel.dial(endpoint(nA, echo));
    await up.ready;
    expect(await exchange(up.socket, "through the relay")).toBe("through the relay");
    expect(nB.tunnel.stats.sessionsOut).toBe(1);
    const started = Date.now();
    for (const s of frozen) {
      s.unpipe();
      s.pause();
    }
    await waitUntil("B's session dropped", () => nB.tunnel.stats.sessionsOut === 0, 5_000);
    const took = Date.now() - started;
    console.log(
      `a peer that stopped answering was dropped after ${took} ms (ping every 200 ms, timeout 1 s)`,
    );
    expect(took).toBeLessThan(2_500);
    expect(logs.some((l) => l.includes("stopped answering pings"))).toBe(true);
    for (const s of frozen) s.destroy();
    const next = nB.tunnel.dial(endpoint(nA, echo));
    await next.ready;
    expect(await exchange(next.socket, "again")).toBe("again");
    await sync(nB);
  });

  it("takes new sessions under a renewed certificate while the old session's streams finish", async () => {
    // The control plane's clock set back almost half a certificate's life for the first
    // certificate: its renewal is due in 1.5 s.
    const r = await node(a, "ts-r", {}, -(12 * 3600_000 - 1_500));
    await sync(r, nA);
    const held = await serve((s) => s.pipe(s));
    const old = r.tunnel.dial(endpoint(nA, held));
    await old.ready;
    await waitUntil("the certificate renewed", () => r.issued.length >= 2, 10_000);
    expect(r.issued[1]).not.toBe(r.issued[0]);
    // The old session drains: its stream still carries bytes; a new connection takes a new session.
    const next = r.tunnel.dial(endpoint(nA, echo));
    await next.ready;
    expect(await exchange(next.socket, "new")).toBe("new");
    expect(r.tunnel.stats.handshakes).toBe(2);
    expect(r.tunnel.stats.sessionsOut).toBe(2);
    expect(await exchange(old.socket, "old")).toBe("old");
    await waitUntil("the old session closed", () => r.tunnel.stats.sessionsOut === 1);
  });
});
