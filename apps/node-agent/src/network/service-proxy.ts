import { connect, createServer, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "@berth/core";
import { hasClusterIP, type NetworkEndpoint, type NetworkService } from "@berth/protocol";
import { EndpointPicker, endpointKey } from "./endpoint-picker";
import { splice } from "./splice";

type ServicePort = NetworkService["ports"][number];

export interface ServiceProxyOptions {
  /** Who may connect (the cluster's pods); anyone else is cut off at once. */
  allowed: (source: string) => boolean;
  /** Whether an endpoint may take new connections now (a pod of this node that turned unready may not). */
  usable: (e: NetworkEndpoint, service: NetworkService) => boolean;
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
  private readonly picker = new EndpointPicker();
  private stopped = false;

  constructor(private readonly opts: ServiceProxyOptions) {}

  /** Listens for every service port of `services` and no other; the endpoints take effect at once. */
  async update(services: readonly NetworkService[]): Promise<void> {
    const wanted = new Map<string, Target>();
    for (const service of services)
      if (hasClusterIP(service))
        for (const port of service.ports.filter((p) => p.protocol === "TCP")) {
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
    const candidates = target.port.endpoints.filter(
      (e) => this.opts.usable(e, target.service) && permits(source, e),
    );
    this.forward(client, key, target, source, candidates, 0);
  }

  private forward(
    client: Socket,
    key: string,
    target: Target,
    source: string,
    candidates: NetworkEndpoint[],
    attempt: number,
  ): void {
    const endpoint = this.picker.pick(key, target.service, source, candidates, attempt);
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
    void joinWhenReady(client, dialled, this.opts.connectTimeoutMs ?? 1_000).then((joined) => {
      if (!joined) retry();
    });
  }
}

/**
 * Joins a paused client connection to an upstream once that is up (within `timeoutMs`): both ways,
 * half-close and resets carried (`splice`). False when the upstream never came up (nothing was
 * sent: the caller may try elsewhere).
 */
export function joinWhenReady(client: Socket, dialled: Upstream, timeoutMs: number): Promise<boolean> {
  const { socket: upstream, ready } = dialled;
  const timer = setTimeout(() => upstream.destroy(new Error("connect timeout")), timeoutMs);
  return ready.then(
    () => {
      clearTimeout(timer);
      if (client.destroyed) {
        upstream.destroy();
        return true;
      }
      splice(client, upstream);
      client.resume();
      return true;
    },
    () => {
      clearTimeout(timer);
      upstream.destroy();
      return false;
    },
  );
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
