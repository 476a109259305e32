import { connect, createServer, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "@berth/core";
import type { NetworkEndpoint, NetworkService } from "@berth/protocol";
import { splice } from "./splice";

type ServicePort = NetworkService["ports"][number];

export interface ServiceProxyOptions {
  /** Who may connect (the cluster's pods); anyone else is cut off at once. */
  allowed: (source: string) => boolean;
  /** Whether an endpoint may take new connections now (a pod of this node that turned unready may not). */
  usable: (e: NetworkEndpoint) => boolean;
  /** Whether NetworkPolicy lets a client open a connection to an endpoint (both sides' rules). */
  permits?: (source: string, e: NetworkEndpoint) => boolean;
  /** The node's address: NodePort and LoadBalancer services' node ports are served there, to anyone. */
  nodeAddress?: string | undefined;
  logger: Logger;
  /** Giving up on one endpoint and trying the next (default 1 s). */
  connectTimeoutMs?: number;
  /** How an endpoint is reached (default: straight to the pod's address); may throw when it cannot be. */
  dial?: (e: NetworkEndpoint) => Upstream;
}

/** A connection to an endpoint (a socket, or a tunnel's stream), and when it can carry the client's bytes (rejects when it cannot). */
export interface Upstream {
  socket: Duplex;
  ready: Promise<void>;
}

interface Target {
  service: NetworkService;
  port: ServicePort;
  /** A node port: open to clients outside the cluster (other clusters' pods are cut off by their firewall). */
  external?: boolean;
}

const endpointKey = (e: NetworkEndpoint) => `${e.ip}:${e.port}`;

/**
 * The node's service proxy, in the manner of kube-proxy's userspace mode: a listener on each
 * service's clusterIP and port (the addresses are the host's, so pods reach them through their
 * gateway) that forwards each connection to one ready endpoint — round robin, or the same endpoint
 * per client address with `sessionAffinity: ClientIP` — trying the next one when an endpoint does
 * not answer. A NodePort (or LoadBalancer) service is also served on its node port at the node's
 * address. Endpoints NetworkPolicy does not allow for the client are skipped, as if absent: the
 * proxy dials from the host, where the pods' firewall cannot see the client. How an endpoint is
 * reached is `dial`'s business: straight to its pod address, or through its node's mutual-TLS
 * tunnel (see tunnel.ts).
 */
export class ServiceProxy {
  private readonly servers = new Map<string, Server>();
  private readonly targets = new Map<string, Target>();
  private readonly cursors = new Map<string, number>();
  private readonly sticky = new Map<string, { endpoint: string; until: number }>();
  private stopped = false;

  constructor(private readonly opts: ServiceProxyOptions) {}

  /** Listens for every service port of `services` and no other; the endpoints take effect at once. */
  async update(services: readonly NetworkService[]): Promise<void> {
    const wanted = new Map<string, Target>();
    for (const service of services)
      if (service.clusterIP)
        for (const port of service.ports) {
          wanted.set(`${service.clusterIP}:${port.port}`, { service, port });
          if (port.nodePort && this.opts.nodeAddress)
            wanted.set(`${this.opts.nodeAddress}:${port.nodePort}`, { service, port, external: true });
        }
    this.targets.clear();
    for (const [k, t] of wanted) this.targets.set(k, t);
    for (const [key, server] of this.servers)
      if (!wanted.has(key)) {
        server.close();
        this.servers.delete(key);
      }
    await Promise.all([...wanted.keys()].filter((k) => !this.servers.has(k)).map((k) => this.listen(k)));
  }

  /** Whether a service address and port is not listened on here (another agent of the host holds it). */
  get incomplete(): boolean {
    for (const key of this.targets.keys()) if (!this.servers.has(key)) return true;
    return false;
  }

  stop(): void {
    this.stopped = true;
    for (const server of this.servers.values()) server.close();
    this.servers.clear();
  }

  private async listen(key: string): Promise<void> {
    if (this.stopped) return;
    const [host = "", port = "0"] = key.split(":");
    const server = createServer({ pauseOnConnect: true, noDelay: true, allowHalfOpen: true }, (socket) =>
      this.accept(key, socket),
    );
    try {
      await new Promise<void>((ok, fail) => {
        server.once("error", fail);
        server.listen({ host, port: Number(port), exclusive: true }, () => {
          server.off("error", fail);
          ok();
        });
      });
    } catch (error) {
      // EADDRINUSE: another agent of the cluster on this host serves it (tests run several); tried again at the next update.
      this.opts.logger.debug(
        { err: (error as Error).message, service: key },
        "service address not served here",
      );
      return;
    }
    server.on("error", (error) =>
      this.opts.logger.warn({ err: error.message, service: key }, "service listener failed"),
    );
    this.servers.set(key, server);
  }

  private accept(key: string, client: Socket): void {
    client.on("error", () => client.destroy());
    const source = client.remoteAddress?.replace(/^::ffff:/, "") ?? "";
    const target = this.targets.get(key);
    if (!target || (!target.external && !this.opts.allowed(source))) {
      client.destroy();
      return;
    }
    const permits = this.opts.permits ?? (() => true);
    const candidates = target.port.endpoints.filter((e) => this.opts.usable(e) && permits(source, e));
    this.forward(client, key, target, source, candidates, 0);
  }

  /** The endpoint for a connection: the client's own under ClientIP affinity, else the next in turn. */
  private choose(
    key: string,
    target: Target,
    source: string,
    candidates: NetworkEndpoint[],
    attempt: number,
  ) {
    const now = Date.now();
    const stickyKey = `${key}|${source}`;
    if (target.service.sessionAffinity === "ClientIP" && attempt === 0) {
      const held = this.sticky.get(stickyKey);
      if (held && held.until > now) {
        const found = candidates.find((e) => endpointKey(e) === held.endpoint);
        if (found) {
          held.until = now + target.service.affinityTimeoutSeconds * 1000;
          return found;
        }
      }
    }
    const n = this.cursors.get(key) ?? 0;
    this.cursors.set(key, n + 1);
    const chosen = candidates[n % candidates.length];
    if (chosen && target.service.sessionAffinity === "ClientIP")
      this.sticky.set(stickyKey, {
        endpoint: endpointKey(chosen),
        until: now + target.service.affinityTimeoutSeconds * 1000,
      });
    return chosen;
  }

  private forward(
    client: Socket,
    key: string,
    target: Target,
    source: string,
    candidates: NetworkEndpoint[],
    attempt: number,
  ): void {
    const endpoint =
      candidates.length > 0 ? this.choose(key, target, source, candidates, attempt) : undefined;
    if (!endpoint) {
      client.destroy();
      return;
    }
    const retry = () => {
      // Nothing was sent yet: another endpoint can take the connection.
      this.forward(
        client,
        key,
        target,
        source,
        candidates.filter((e) => e !== endpoint),
        attempt + 1,
      );
    };
    let dialled: Upstream;
    try {
      dialled = (this.opts.dial ?? dialDirect)(endpoint);
    } catch (error) {
      this.opts.logger.debug(
        { err: (error as Error).message, endpoint: endpointKey(endpoint) },
        "cannot dial",
      );
      retry();
      return;
    }
    const { socket: upstream, ready } = dialled;
    const timer = setTimeout(
      () => upstream.destroy(new Error("connect timeout")),
      this.opts.connectTimeoutMs ?? 1_000,
    );
    ready.then(
      () => {
        clearTimeout(timer);
        if (client.destroyed) {
          upstream.destroy();
          return;
        }
        splice(client, upstream);
        client.resume();
      },
      () => {
        clearTimeout(timer);
        upstream.destroy();
        retry();
      },
    );
  }
}

/** A connection straight to an endpoint's pod address (a pod of this node, or of this host's network). */
export function dialDirect(e: NetworkEndpoint): Upstream {
  const socket = connect({ host: e.ip, port: e.port, noDelay: true, allowHalfOpen: true });
  const ready = new Promise<void>((ok, fail) => {
    socket.once("connect", ok);
    socket.once("error", fail);
    socket.once("close", () => fail(new Error("closed")));
  });
  return { socket, ready };
}
