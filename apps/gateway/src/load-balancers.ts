import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "@berth/core";
import { dial, isConnectError, type RoundRobin } from "./dial";
import type { Snapshot } from "./snapshot";
import { type LbAllocations, lbKey } from "./status";

interface Listener {
  server: Server;
  /** `${serviceUid}/${servicePort}` it forwards. */
  key: string;
}

/**
 * One TCP listener per LoadBalancer Service port, on the port allocated to it; each connection
 * goes to a ready endpoint of the port (round robin, the next one when one cannot be connected to).
 * The client's bytes wait (paused) until the endpoint's connection is up.
 */
export class LoadBalancers {
  private readonly listeners = new Map<number, Listener>();
  /** Per service port key: its ready endpoints now (swapped on each sync). */
  private endpoints = new Map<string, { ip: string; port: number }[]>();

  constructor(
    private readonly host: string,
    private readonly connectTimeoutMs: number,
    private readonly logger: Logger,
    private readonly rr: RoundRobin,
  ) {}

  /** Opens and closes listeners to match the allocations; answers the ports that could not be listened on. */
  async sync(snapshot: Snapshot, allocations: LbAllocations): Promise<number[]> {
    const failed: number[] = [];
    const endpoints = new Map<string, { ip: string; port: number }[]>();
    for (const s of snapshot.services.values())
      if (s.spec.type === "LoadBalancer")
        for (const p of s.spec.ports) endpoints.set(lbKey(s.uid, p.port), s.endpoints.get(p.port) ?? []);
    this.endpoints = endpoints;
    const wanted = new Map([...allocations].map(([key, port]) => [port, key]));
    for (const [port, l] of this.listeners)
      if (wanted.get(port) !== l.key) {
        this.listeners.delete(port);
        l.server.close();
      }
    for (const [port, key] of wanted) {
      if (this.listeners.has(port)) continue;
      const server = createServer((socket) => this.forward(key, socket));
      try {
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(port, this.host, () => resolve());
        });
        server.on("error", (error) => this.logger.warn({ err: error, port }, "load balancer listener error"));
        this.listeners.set(port, { server, key });
      } catch (error) {
        failed.push(port);
        this.logger.warn(
          { err: error, port },
          "cannot listen on a LoadBalancer port; another one is allocated",
        );
      }
    }
    return failed;
  }

  private forward(key: string, client: Socket): void {
    client.pause();
    const endpoints = this.endpoints.get(key) ?? [];
    if (endpoints.length === 0) return void client.destroy();
    const first = this.rr.start(`lb/${key}`);
    const attempt = (n: number) => {
      const target = endpoints[(first + n) % endpoints.length] as { ip: string; port: number };
      const upstream = dial(target, this.connectTimeoutMs);
      upstream.once("connect", () => {
        upstream.on("error", () => client.destroy());
        client.on("error", () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      upstream.once("error", (error) => {
        if (upstream.connecting || !upstream.remoteAddress) {
          if (isConnectError(error) && n + 1 < endpoints.length) return attempt(n + 1);
          client.destroy();
        }
      });
    };
    attempt(0);
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.listeners.values()].map(
        (l) => new Promise<void>((resolve) => l.server.close(() => resolve())),
      ),
    );
    this.listeners.clear();
  }
}
