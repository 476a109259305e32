import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import type { Logger } from "@berth/core";
import { hasClusterIP, type NetworkEndpoint, type NetworkService } from "@berth/protocol";
import { EndpointPicker, endpointKey } from "./endpoint-picker";

type ServicePort = NetworkService["ports"][number];

export interface UdpProxyOptions {
  /** Who may send (the cluster's pods); anyone else's datagrams are dropped. */
  allowed: (source: string) => boolean;
  /** Whether an endpoint may take new flows now (a pod of this node that turned unready may not). */
  usable: (e: NetworkEndpoint, service: NetworkService) => boolean;
  /** Whether NetworkPolicy lets a client send UDP to an endpoint (both sides' rules). */
  permits?: (source: string, e: NetworkEndpoint) => boolean;
  /**
   * Whether datagrams can reach an endpoint from here without leaving the host (a pod of this host's
   * cluster network); others are skipped: UDP does not cross the nodes' tunnel (yet).
   */
  reachable: (e: NetworkEndpoint) => boolean;
  /** The node's address: NodePort services' UDP node ports are served there, to anyone. */
  nodeAddress?: string | undefined;
  logger: Logger;
  /** A flow idle this long is forgotten (default 30 s, conntrack's UDP stream timeout). */
  idleMs?: number;
  /** At most this many flows at once; datagrams of new ones are dropped beyond (default 4096). */
  maxFlows?: number;
}

interface Target {
  service: NetworkService;
  port: ServicePort;
  /** A node port: open to clients outside the cluster. */
  external: boolean;
}

/** One client address and port talking to one service address and port, relayed to one endpoint. */
interface Flow {
  key: string;
  client: { address: string; port: number };
  endpoint: NetworkEndpoint;
  /** The proxy's own socket towards the endpoint (its ephemeral port tells the flows apart). */
  upstream: Socket;
  last: number;
}

const DEFAULT_IDLE_MS = 30_000;

/**
 * The service proxy's UDP half, as kube-proxy serves UDP: a socket on each UDP service port's
 * clusterIP (and node port), and per client address and port a flow relayed to one endpoint —
 * round robin over the usable endpoints, or the client's endpoint under ClientIP affinity — with
 * the endpoint's replies sent back from the service address. A flow lives while datagrams pass,
 * and is forgotten after `idleMs` without any. When its endpoint leaves the endpoints (or turns
 * unusable, or a policy stops allowing it), the flow's next datagram goes to another endpoint and
 * late replies of the old one are dropped, as kube-proxy clears the conntrack entries of removed
 * UDP endpoints.
 */
export class UdpServiceProxy {
  private readonly sockets = new Map<string, Socket>();
  private targets = new Map<string, Target>();
  private readonly flows = new Map<string, Flow>();
  private readonly picker = new EndpointPicker();
  private readonly sweeper: NodeJS.Timeout;
  private stopped = false;
  readonly stats = { flows: 0, datagrams: 0, replies: 0, dropped: 0, moved: 0 };

  constructor(private readonly opts: UdpProxyOptions) {
    const idle = opts.idleMs ?? DEFAULT_IDLE_MS;
    this.sweeper = setInterval(() => this.sweep(idle), Math.max(100, Math.floor(idle / 3)));
    this.sweeper.unref();
  }

  /** Serves every UDP port of `services` and no other. */
  async update(services: readonly NetworkService[]): Promise<void> {
    const wanted = new Map<string, Target>();
    for (const service of services)
      if (hasClusterIP(service))
        for (const port of service.ports.filter((p) => p.protocol === "UDP")) {
          wanted.set(`${service.clusterIP}:${port.port}`, { service, port, external: false });
          if (port.nodePort && this.opts.nodeAddress)
            wanted.set(`${this.opts.nodeAddress}:${port.nodePort}`, { service, port, external: true });
        }
    this.targets = wanted;
    for (const [key, socket] of this.sockets)
      if (!wanted.has(key)) {
        socket.close();
        this.sockets.delete(key);
      }
    for (const [id, flow] of this.flows) if (!wanted.has(flow.key)) this.close(id, flow);
    await Promise.all([...wanted.keys()].filter((k) => !this.sockets.has(k)).map((k) => this.listen(k)));
  }

  /** Whether a UDP service port is not served here (another agent of the host holds it). */
  get incomplete(): boolean {
    for (const key of this.targets.keys()) if (!this.sockets.has(key)) return true;
    return false;
  }

  get flowCount(): number {
    return this.flows.size;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.sweeper);
    for (const [id, flow] of this.flows) this.close(id, flow);
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
  }

  private async listen(key: string): Promise<void> {
    if (this.stopped) return;
    const [host = "", port = "0"] = key.split(":");
    const socket = createSocket({ type: "udp4" });
    try {
      await new Promise<void>((ok, fail) => {
        socket.once("error", fail);
        socket.bind({ address: host, port: Number(port), exclusive: true }, () => {
          socket.off("error", fail);
          ok();
        });
      });
    } catch (error) {
      // EADDRINUSE: another agent of the cluster on this host serves it; tried again at the next update.
      socket.close();
      this.opts.logger.debug(
        { err: (error as Error).message, service: key },
        "UDP service port not served here",
      );
      return;
    }
    socket.on("error", (error) =>
      this.opts.logger.warn({ err: error.message, service: key }, "UDP service socket failed"),
    );
    socket.on("message", (msg, from) => this.receive(key, socket, msg, from));
    this.sockets.set(key, socket);
  }

  /** The endpoints a client may be relayed to now. */
  private candidates(target: Target, source: string): NetworkEndpoint[] {
    const permits = this.opts.permits ?? (() => true);
    return target.port.endpoints.filter(
      (e) => this.opts.usable(e, target.service) && this.opts.reachable(e) && permits(source, e),
    );
  }

  private receive(key: string, socket: Socket, msg: Buffer, from: RemoteInfo): void {
    const target = this.targets.get(key);
    if (!target || (!target.external && !this.opts.allowed(from.address))) {
      this.stats.dropped++;
      return;
    }
    const id = `${key}|${from.address}:${from.port}`;
    const candidates = this.candidates(target, from.address);
    let flow = this.flows.get(id);
    const held = flow ? endpointKey(flow.endpoint) : undefined;
    if (flow && !candidates.some((e) => endpointKey(e) === held)) {
      // Its endpoint is gone (or may not take it any more): the flow moves, as conntrack's entry is cleared.
      const next = this.picker.pick(key, target.service, from.address, candidates);
      if (!next) {
        this.close(id, flow);
        this.stats.dropped++;
        return;
      }
      flow.endpoint = next;
      this.stats.moved++;
    }
    if (!flow) {
      const endpoint = this.picker.pick(key, target.service, from.address, candidates);
      if (!endpoint || this.flows.size >= (this.opts.maxFlows ?? 4096)) {
        this.stats.dropped++;
        return;
      }
      flow = this.open(id, key, socket, { address: from.address, port: from.port }, endpoint);
    }
    flow.last = Date.now();
    this.stats.datagrams++;
    flow.upstream.send(msg, flow.endpoint.port, flow.endpoint.ip);
  }

  private open(
    id: string,
    key: string,
    service: Socket,
    client: Flow["client"],
    endpoint: NetworkEndpoint,
  ): Flow {
    const upstream = createSocket({ type: "udp4" });
    const flow: Flow = { key, client, endpoint, upstream, last: Date.now() };
    upstream.on("error", (error) => {
      this.opts.logger.debug({ err: error.message, flow: id }, "UDP flow failed");
      this.close(id, flow);
    });
    upstream.on("message", (reply, from) => {
      // Only the flow's endpoint answers it: late replies of an endpoint it moved away from are dropped.
      if (from.address !== flow.endpoint.ip || from.port !== flow.endpoint.port) return;
      flow.last = Date.now();
      this.stats.replies++;
      service.send(reply, client.port, client.address);
    });
    this.flows.set(id, flow);
    this.stats.flows++;
    return flow;
  }

  private close(id: string, flow: Flow): void {
    if (this.flows.get(id) !== flow) return;
    this.flows.delete(id);
    flow.upstream.close();
  }

  private sweep(idleMs: number): void {
    const now = Date.now();
    for (const [id, flow] of this.flows) if (now - flow.last > idleMs) this.close(id, flow);
  }
}
