import type { Logger } from "@berth/core";
import {
  hasClusterIP,
  inCidr,
  type NetworkEndpoint,
  type NetworkService,
  type NetworkView,
  NO_POLICIES,
  type PodReport,
  policyAllows,
  serviceEnv,
} from "@berth/protocol";
import type { NodeIdentity } from "../pod-spec";
import type { ContainerNetwork, ContainerRuntime, NetworkInfo } from "../runtime";
import { HostAddresses } from "./addresses";
import { BridgeAddress } from "./bridge";
import { DnsServer } from "./dns";
import { lookupName } from "./dns-records";
import { EndpointDrain } from "./drain";
import { PodFirewall } from "./firewall";
import { serviceOpenings } from "./openings";
import { dismantlePodNetwork, makePodNetwork, readViewCache, writeViewCache } from "./pod-network";
import { PodRoutes } from "./pod-routes";
import { policyRules } from "./policy-rules";
import { dialDirect, ServiceProxy, type Upstream } from "./service-proxy";
import { Tunnel, type TunnelOptions } from "./tunnel";
import { UdpServiceProxy } from "./udp-proxy";

export { dismantleNodeNetwork } from "./pod-network";

export interface ClusterNetworkOptions {
  identity: NodeIdentity;
  runtime: ContainerRuntime;
  /**
   * The control plane's view of the cluster's network (`GET /v1/nodes/network`); with `watch`, the
   * long poll that answers when the view differs from `version` (at once, or when it changes).
   */
  fetchView: (
    watch?: { version: string; waitMs: number },
    signal?: AbortSignal,
    podCidrTaken?: string,
  ) => Promise<NetworkView>;
  /** Where the last view is kept, so pods started while the control plane is away still get DNS. */
  cacheFile: string;
  /** How long one long poll waits for a change; after a failure, the wait before the next read. */
  pollMs: number;
  /** How long one long poll of the view is held open (default 25 s). */
  watchMs?: number;
  /** Where names outside the cluster are resolved (the host's resolver). */
  dnsUpstream?: { address: string; port: number } | undefined;
  /** How long a deleted pod that serves a Service drains before it is stopped (default 2 s). */
  drainMs?: number;
  /** Where NodePort services are served (the node's address); none: not served. */
  nodeAddress?: string | undefined;
  logger: Logger;
  /**
   * The node's mutual-TLS tunnel to the cluster's other nodes (absent: endpoints of other nodes are
   * dialled at their pod address, which reaches only pods of this host).
   */
  tunnel?: { nodeName: string } & Pick<TunnelOptions, "address" | "port" | "requestCertificate">;
}

/** A container's start waits at most this long for a fresh view, and not at all for a while after a failed read. */
const REFRESH_MAX_WAIT_MS = 1_000;
const REFRESH_BACKOFF_MS = 5_000;
const WATCH_MS = 25_000;

/**
 * A node's part of its cluster's network. Pods join the cluster's bridge network on this host
 * (their own network namespace and address; the network is isolated from every other cluster's);
 * the cluster's service addresses and DNS address are the host's own, served by the service proxy
 * and the DNS server, which answer only the cluster's pods. What to serve comes from the control
 * plane's network view, read every `pollMs`; the readiness of this node's own pods is applied at
 * once, without waiting for the control plane.
 */
export class ClusterNetwork {
  private network: NetworkInfo | null = null;
  private bridge: BridgeAddress | null = null;
  private view: NetworkView | null = null;
  private readonly addresses = new HostAddresses();
  private readonly proxy: ServiceProxy;
  private readonly udp: UdpServiceProxy;
  private dns: DnsServer | null = null;
  private firewall: PodFirewall | null = null;
  private routes: PodRoutes | null = null;
  /** When the view was last read, and the read in flight (a pod's start may ask for a fresh one). */
  private fetchedAt = 0;
  private failedAt = 0;
  private fetching: Promise<void> | null = null;
  private readonly localReady = new Map<string, boolean>();
  private readonly drains: EndpointDrain;
  private readonly abort = new AbortController();
  private watching: Promise<void> = Promise.resolve();
  private readonly localIPs = new Set<string>();
  readonly tunnel: Tunnel | null;
  private stopped = false;
  private applying: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ClusterNetworkOptions) {
    this.drains = new EndpointDrain({ drainMs: opts.drainMs, logger: opts.logger });
    this.tunnel = opts.tunnel
      ? new Tunnel({
          ...opts.tunnel,
          clusterId: opts.identity.clusterId,
          nodeId: opts.identity.nodeId,
          isLocalPod: (ip) => this.isPod(ip) && this.localIPs.has(ip),
          logger: opts.logger,
        })
      : null;
    // A Service publishing not-ready addresses routes to them too, as kube-proxy does.
    const usable = (e: NetworkEndpoint, s: NetworkService) =>
      !this.drains.isDraining(e.podId) &&
      (s.publishNotReadyAddresses === true || (this.localReady.get(e.podId) ?? true));
    this.proxy = new ServiceProxy({
      allowed: (source) => this.isPod(source),
      usable,
      permits: (source, e) => this.permits(source, e, "TCP"),
      nodeAddress: opts.nodeAddress,
      logger: opts.logger,
      dial: (e) => this.dial(e),
    });
    this.udp = new UdpServiceProxy({
      allowed: (source) => this.isPod(source),
      usable,
      permits: (source, e) => this.permits(source, e, "UDP"),
      // Datagrams reach pods of this host only: nodes sharing this node's address.
      reachable: (e) => {
        const t = this.opts.tunnel;
        if (!t || e.nodeName === null || e.nodeName === t.nodeName) return true;
        return this.view?.tunnels?.find((p) => p.nodeName === e.nodeName)?.address === t.address;
      },
      nodeAddress: opts.nodeAddress,
      logger: opts.logger,
    });
  }

  /** Makes the network (and serves what the last known view says), then keeps the view current. */
  async start(): Promise<void> {
    const { identity } = this.opts;
    const cached = await readViewCache(this.opts.cacheFile, identity.nodeId);
    // The node's pod range names its network: known from the last view, else read now.
    const read = cached?.podCidr ? cached : await this.firstView();
    const made = read && (await makePodNetwork(this.opts, read, (taken) => this.firstView(taken)));
    if (!made) return;
    const { network, view: first } = made;
    this.network = network;
    this.opts.logger.info({ network: this.network }, "pods join the node's network");
    this.bridge = new BridgeAddress(this.network.gateway);
    this.firewall = new PodFirewall(this.network.subnet);
    await this.firewall.install();
    if (first.podCidr)
      this.routes = new PodRoutes({
        ...this.network,
        nodeName: this.opts.tunnel?.nodeName ?? "",
        permits: (source, e) => this.permits(source, e),
        dial: (e) => this.dial(e),
        logger: this.opts.logger,
      });
    // Without its tunnel the node still runs its pods and serves its own endpoints: never fatal.
    await this.tunnel
      ?.start()
      .catch((error: unknown) =>
        this.opts.logger.error(
          { err: (error as Error).message },
          "the tunnel cannot listen: this node's pods are not reachable from other nodes",
        ),
      );
    await this.apply(first);
    if (first !== cached) await writeViewCache(this.opts.cacheFile, identity.nodeId, first);
    else await this.fetchView();
    this.watching = this.watch();
  }

  /**
   * Reads the view now unless it was read in the last `maxAgeMs`: a container about to start gets
   * the variables of every service that exists, as Kubernetes gives them, not those of a view up
   * to one poll old.
   */
  async refresh(maxAgeMs = 250): Promise<void> {
    const now = Date.now();
    // The control plane away: pods start (and restart) with what is known, without waiting on it.
    if (now - this.fetchedAt <= maxAgeMs || now - this.failedAt < REFRESH_BACKOFF_MS) return;
    await Promise.race([this.fetchView(), new Promise((r) => setTimeout(r, REFRESH_MAX_WAIT_MS))]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.watching;
    await this.applying;
    this.proxy.stop();
    await this.routes?.stop();
    this.udp.stop();
    this.tunnel?.stop();
    this.dns?.stop();
    await this.addresses.removeAll();
  }

  /** The node leaves: the network and its firewall go too, once no container uses the network. */
  async leave(): Promise<void> {
    await this.stop();
    if (this.network) await dismantlePodNetwork(this.opts.runtime, this.network);
  }

  /**
   * Before a container joins the network: the view read afresh (`refresh`), and the bridge's MAC
   * address kept fixed (bridge.ts says why).
   */
  async prepareJoin(): Promise<void> {
    await Promise.all([
      this.refresh(),
      this.bridge
        ?.pin()
        .catch((error: unknown) =>
          this.opts.logger.warn({ err: (error as Error).message }, "could not fix the bridge's address"),
        ),
    ]);
  }

  /** How a container of a pod in `namespace` joins the network, and the service variables it gets. */
  podSettings(namespace: string): { network: ContainerNetwork; env: Record<string, string> } | undefined {
    if (!this.network) return undefined;
    const v = this.view;
    const domain = v?.clusterDomain ?? "cluster.local";
    return {
      network: {
        name: this.network.name,
        dns: v ? [v.dnsAddress] : [],
        dnsSearch: v ? [`${namespace}.svc.${domain}`, `svc.${domain}`, domain] : [],
        dnsOptions: v ? ["ndots:5"] : [],
      },
      env: v ? serviceEnv(v.services, namespace) : {},
    };
  }

  /** This node's pods as last reported: an unready one takes no new connection from here on. */
  noteLocal(reports: readonly PodReport[]): void {
    this.localReady.clear();
    this.localIPs.clear();
    for (const r of reports) {
      this.localReady.set(r.podId, r.ready && r.state === "running");
      if (r.podIP) this.localIPs.add(r.podIP);
    }
  }

  /**
   * Drains a pod of this node before it is stopped (drain.ts): resolves with the time waited, 0
   * for a pod that is no Service's endpoint, nor was one lately.
   */
  drain(podId: string, maxMs: number): Promise<number> {
    return this.stopped ? Promise.resolve(0) : this.drains.drain(podId, maxMs);
  }

  /** Whether NetworkPolicy lets `source` open a connection (or a UDP flow) to a pod's port (both sides' rules). */
  private permits(source: string, e: NetworkEndpoint, protocol: "TCP" | "UDP" = "TCP"): boolean {
    const policies = this.view?.policies ?? NO_POLICIES;
    return policyAllows(policies, { source, destination: e.ip, port: e.port, protocol });
  }

  /** A pod of another node is reached through that node's tunnel, even when it shares this host. */
  private dial(e: NetworkEndpoint): Upstream {
    const local = e.nodeName === null || e.nodeName === this.opts.tunnel?.nodeName;
    return this.tunnel && !local ? this.tunnel.dial(e) : dialDirect(e);
  }

  /**
   * Whether an address is one of the cluster's pods: of this node's range, or of another node's
   * (agents of one host share the service addresses, so one may serve another's pods). Never a
   * bridge's own address (`.1`: the host).
   */
  private isPod(source: string): boolean {
    if (!this.network) return false;
    const ranges = [this.network.subnet, ...(this.view?.podCidrs ?? [])];
    // A range's `.1` is its bridge's address: the host.
    return ranges.some((c) => inCidr(c, source) && source !== c.replace(/\.0\/\d+$/, ".1"));
  }

  /** The first view of a node without one on disk: read until the control plane answers. */
  private async firstView(podCidrTaken?: string): Promise<NetworkView | null> {
    for (let failures = 0; !this.stopped; failures++) {
      try {
        const view = await this.opts.fetchView(undefined, this.abort.signal, podCidrTaken);
        this.fetchedAt = Date.now();
        return view;
      } catch (error) {
        if (this.stopped) break;
        this.opts.logger.warn(
          { err: (error as Error).message },
          "waiting for the control plane's network view before making the pod network",
        );
        await new Promise((r) => setTimeout(r, Math.min(this.opts.pollMs * 2 ** failures, 15_000)));
      }
    }
    return null;
  }

  /**
   * Keeps the view current with one long poll after another: the control plane answers as soon as
   * the view changes. While a service address is not served here (an agent of the same host holds
   * it, and may go), the poll comes back every `pollMs` to try again; after a failure, the next
   * read waits `pollMs`, doubling up to 15 s.
   */
  private async watch(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const version = this.view?.version ?? "";
      const incomplete = this.proxy.incomplete || this.udp.incomplete;
      const waitMs = incomplete ? this.opts.pollMs : (this.opts.watchMs ?? WATCH_MS);
      try {
        const view = await this.opts.fetchView({ version, waitMs }, this.abort.signal);
        // Current when answered: the control plane answers a long poll as soon as the view changes.
        this.fetchedAt = Date.now();
        failures = 0;
        await this.accept(view);
      } catch (error) {
        if (this.stopped) return;
        failures += 1;
        this.failedAt = Date.now();
        this.opts.logger.debug(
          { err: (error as Error).message, failures },
          "could not read the cluster's network view",
        );
        await new Promise((r) => setTimeout(r, Math.min(this.opts.pollMs * 2 ** (failures - 1), 15_000)));
      }
    }
  }

  /** Serves a view read from the control plane (unless it is the one served) and keeps it on disk. */
  private async accept(view: NetworkView): Promise<void> {
    // Also when a service address is not served here: an agent of the same host that held it may have gone.
    if (view.version === this.view?.version && !this.proxy.incomplete && !this.udp.incomplete) return;
    await this.apply(view);
    await writeViewCache(this.opts.cacheFile, this.opts.identity.nodeId, view);
  }

  private fetchView(): Promise<void> {
    this.fetching ??= (async () => {
      const started = Date.now();
      try {
        const view = await this.opts.fetchView();
        this.fetchedAt = started;
        await this.accept(view);
      } catch (error) {
        this.failedAt = Date.now();
        this.opts.logger.debug(
          { err: (error as Error).message },
          "could not read the cluster's network view",
        );
      }
    })().finally(() => {
      this.fetching = null;
    });
    return this.fetching;
  }

  private apply(view: NetworkView): Promise<void> {
    this.applying = this.applying
      .then(() => this.serve(view))
      .catch((error: unknown) => {
        this.opts.logger.warn({ err: (error as Error).message }, "could not serve the cluster's services");
      });
    return this.applying;
  }

  private async serve(view: NetworkView): Promise<void> {
    if (this.stopped) return;
    this.view = view;
    this.drains.note(view);
    this.tunnel?.update(view);
    const wanted = new Set([view.dnsAddress, ...view.services.filter(hasClusterIP).map((s) => s.clusterIP)]);
    for (const ip of wanted) await this.addresses.ensure(ip);
    if (!this.dns) {
      const dns = new DnsServer({
        address: view.dnsAddress,
        lookup: (name, type) => (this.view ? lookupName(this.view, name, type) : { kind: "outside" }),
        allowed: (source) => this.isPod(source),
        upstream: this.opts.dnsUpstream,
        logger: this.opts.logger,
      });
      await dns.start();
      this.dns = dns;
    }
    await this.proxy.update(view.services);
    await this.udp.update(view.services);
    await this.routes?.update(view.pods ?? []);
    const openings = [...serviceOpenings(view, this.opts.nodeAddress), ...(this.routes?.openings ?? [])];
    const firewall = this.firewall;
    if (firewall && this.network)
      await firewall.allow(
        openings,
        policyRules(
          view.policies ?? NO_POLICIES,
          this.network.subnet,
          view.dnsAddress,
          firewall.policyChains,
        ),
      );
    await this.addresses.keepOnly(wanted);
  }
}
