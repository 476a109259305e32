import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "@berth/core";
import { inCidr, type NetworkEndpoint, type NetworkPod } from "@berth/protocol";
import { iptables, type Opening, restore } from "./firewall";
import { joinWhenReady, type Upstream } from "./service-proxy";

export interface PodRoutesOptions {
  /** This node's pod network: its subnet, and the bridge's address, where the forwarders listen. */
  subnet: string;
  gateway: string;
  nodeName: string;
  /** Whether NetworkPolicy lets `source` open a connection to the pod port (both sides' rules). */
  permits: (source: string, target: NetworkEndpoint) => boolean;
  /** How a pod of another node is reached: its node's mutual-TLS tunnel. */
  dial: (target: NetworkEndpoint) => Upstream;
  logger: Logger;
  connectTimeoutMs?: number;
}

interface Route {
  target: NetworkEndpoint;
  server: Server;
  port: number;
}

const routeKey = (ip: string, port: number) => `${ip}:${port}`;

/**
 * Pod-to-pod traffic to other nodes. Each node's pods have addresses of the node's own range
 * (`podCidr`), so a pod's packet for a pod of another node leaves through its bridge's gateway —
 * this host. For every port the other nodes' pods declare (`ports[].containerPort`, TCP), the agent
 * listens on its bridge address and NATs the pods' connections to `podIP:port` there (a chain of
 * the nat table, named by the subnet, rewritten whole with `iptables-restore --noflush`); each
 * connection is checked against NetworkPolicy with the real client address and carried through the
 * mutual-TLS tunnel of the pod's node, which delivers it to the pod. Ports a pod does not declare
 * are not reachable from other nodes (on its own node they are: the bridge carries them).
 */
export class PodRoutes {
  private readonly routes = new Map<string, Route>();
  private readonly chain: string;
  private installed = false;
  private stopped = false;

  constructor(private readonly opts: PodRoutesOptions) {
    this.chain = routesChain(opts.subnet);
  }

  /** What the pods must be let reach on the host: the forwarders' addresses and ports. */
  get openings(): Opening[] {
    return [...this.routes.values()].map((r) => ({ ip: this.opts.gateway, port: r.port, protocol: "tcp" }));
  }

  /** Forwards every declared TCP port of every pod of another node, and nothing else. */
  async update(pods: readonly NetworkPod[]): Promise<void> {
    if (this.stopped) return;
    const wanted = new Map<string, NetworkEndpoint>();
    for (const pod of pods)
      if (pod.nodeName !== this.opts.nodeName)
        for (const p of pod.ports)
          if (p.protocol === "TCP")
            wanted.set(routeKey(pod.ip, p.port), {
              podId: pod.podId,
              ip: pod.ip,
              port: p.port,
              nodeName: pod.nodeName,
            });
    for (const [key, route] of this.routes)
      if (!wanted.has(key) || wanted.get(key)?.nodeName !== route.target.nodeName) {
        route.server.close();
        this.routes.delete(key);
      }
    for (const [key, target] of wanted) {
      const route = this.routes.get(key);
      if (route) route.target = target;
      else this.routes.set(key, await this.listen(target));
    }
    await this.writeRules();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const r of this.routes.values()) r.server.close();
    this.routes.clear();
    if (this.installed) await this.writeRules().catch(() => {});
  }

  private async listen(target: NetworkEndpoint): Promise<Route> {
    const server = createServer({ pauseOnConnect: true, noDelay: true, allowHalfOpen: true }, (socket) =>
      this.accept(route, socket),
    );
    const route: Route = { target, server, port: 0 };
    await new Promise<void>((ok, fail) => {
      server.once("error", fail);
      server.listen({ host: this.opts.gateway, port: 0, exclusive: true }, () => {
        server.off("error", fail);
        ok();
      });
    });
    route.port = (server.address() as { port: number }).port;
    server.on("error", (error) =>
      this.opts.logger.warn(
        { err: error.message, pod: routeKey(target.ip, target.port) },
        "pod route failed",
      ),
    );
    return route;
  }

  private accept(route: Route, client: Socket): void {
    client.on("error", () => client.destroy());
    const source = client.remoteAddress?.replace(/^::ffff:/, "") ?? "";
    // Only this node's pods are NATed here; and NetworkPolicy decides with the real client address.
    if (!this.isOwnPod(source) || !this.opts.permits(source, route.target)) {
      client.destroy();
      return;
    }
    let upstream: Upstream;
    try {
      upstream = this.opts.dial(route.target);
    } catch (error) {
      this.opts.logger.debug({ err: (error as Error).message }, "cannot reach the pod's node");
      client.destroy();
      return;
    }
    void joinWhenReady(client, upstream, this.opts.connectTimeoutMs ?? 2_000).then((joined) => {
      if (!joined) client.destroy();
    });
  }

  private isOwnPod(ip: string): boolean {
    return inCidr(this.opts.subnet, ip) && ip !== this.opts.gateway;
  }

  /** The nat chain: each forwarded pod port to its listener; the jump from PREROUTING for this node's pods. */
  private async writeRules(): Promise<void> {
    const lines = [
      "*nat",
      `:${this.chain} - [0:0]`,
      ...[...this.routes.values()].map(
        (r) =>
          `-A ${this.chain} -d ${r.target.ip}/32 -p tcp --dport ${r.target.port} -j DNAT --to-destination ${this.opts.gateway}:${r.port}`,
      ),
      "COMMIT",
      "",
    ];
    await restore(lines.join("\n"));
    if (!this.installed) {
      const jump = ["PREROUTING", "-s", this.opts.subnet, "-j", this.chain];
      await iptables(["-t", "nat", "-C", ...jump]).catch(() => iptables(["-t", "nat", "-I", ...jump]));
      this.installed = true;
    }
  }
}

/** The nat chain of a network's pod routes, named by its subnet. */
function routesChain(subnet: string): string {
  const [base = "", bits = "32"] = subnet.split("/");
  const hex = base
    .split(".")
    .map((p) => Number(p).toString(16).padStart(2, "0"))
    .join("");
  return `BERTH-PR-${hex}-${bits}`;
}

/** Takes a network's pod routes (its nat chain and the jump to it) out of the nat table. */
export async function removePodRoutes(subnet: string): Promise<void> {
  const chain = routesChain(subnet);
  await iptables(["-t", "nat", "-D", "PREROUTING", "-s", subnet, "-j", chain]).catch(() => {});
  await iptables(["-t", "nat", "-F", chain]).catch(() => {});
  await iptables(["-t", "nat", "-X", chain]).catch(() => {});
}
