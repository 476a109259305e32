import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { splice } from "./splice";

/** A relay on 127.0.0.1 that splices each connection to `target`, as the proxy and the tunnel do. */
async function relay(target: number): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ host: "127.0.0.1", port: target, allowHalfOpen: true });
    upstream.once("connect", () => splice(client, upstream));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return server;
}
const portOf = (s: Server) => (s.address() as AddressInfo).port;
const servers: Server[] = [];
async function listen(onConnection: (s: Socket) => void): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on("error", () => {});
    onConnection(s);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  servers.push(server);
  return server;
}
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe("splice", () => {
  it("keeps the reply flowing after the client's half-close", async () => {
    const target = await listen((s) => {
      let n = 0;
      s.on("data", (d: Buffer) => {
        n += d.length;
      });
      s.on("end", () => setTimeout(() => s.end(`${n} bytes, then your FIN`), 30));
    });
    const r = await relay(portOf(target));
    servers.push(r);
    const reply = await new Promise<string>((ok, fail) => {
      const c = connect({ host: "127.0.0.1", port: portOf(r), allowHalfOpen: true });
      let got = "";
      c.on("data", (d: Buffer) => {
        got += d.toString();
      });
      c.on("end", () => ok(got));
      c.on("error", fail);
      c.end("x".repeat(300_000));
    });
    expect(reply).toBe("300000 bytes, then your FIN");
  });

  it("passes a reset on as a reset", async () => {
    const target = await listen((s) => s.once("data", () => s.resetAndDestroy()));
    const r = await relay(portOf(target));
    servers.push(r);
    const outcome = await new Promise<string>((ok) => {
      const c = connect({ host: "127.0.0.1", port: portOf(r) });
      c.on("error", (e: NodeJS.ErrnoException) => ok(e.code ?? e.message));
      c.on("end", () => ok("FIN"));
      c.write("hello");
    });
    expect(outcome).toBe("ECONNRESET");
  });
});
