import { readFile, rename, writeFile } from "node:fs/promises";
import type { Logger } from "@berth/core";
import { inCidr, type NetworkView, networkViewSchema, type PodReport, serviceEnv } from "@berth/protocol";
import type { NodeIdentity } from "../pod-spec";
import type { ContainerNetwork, ContainerRuntime, NetworkInfo } from "../runtime";
import { HostAddresses } from "./addresses";
import { DnsServer, type Lookup } from "./dns";
import { type Opening, PodFirewall } from "./firewall";
import { dialDirect, ServiceProxy } from "./service-proxy";
import { Tunnel, type TunnelOptions } from "./tunnel";

export interface ClusterNetworkOptions {
  identity: NodeIdentity;
  runtime: ContainerRuntime;
  /** The control plane's view of the cluster's network (`GET /v1/nodes/network`). */
  fetchView: () => Promise<NetworkView>;
  /** Where the last view is kept, so pods started while the control plane is away still get DNS. */
  cacheFile: string;
  pollMs: number;
  /** Where names outside the cluster are resolved (the host's resolver). */
  dnsUpstream?: { address: string; port: number } | undefined;
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

/** The engine network of a cluster on a host. */
export const clusterNetworkName = (clusterId: string) => `berth-${clusterId}`;

/**
 * Removes a cluster's network from the host once no container uses it (tried for a few seconds:
 * its pods' containers may still be going), and then its firewall chains.
 */
export async function dismantleClusterNetwork(
  runtime: ContainerRuntime,
  clusterId: string,
  knownSubnet?: string,
): Promise<boolean> {
  const name = clusterNetworkName(clusterId);
  let subnet = knownSubnet;
  try {
    subnet ??= (await runtime.ensureNetwork(name, { "berth.io/cluster": clusterId })).subnet;
  } catch {
    return false;
  }
  for (let attempt = 1; ; attempt++) {
    if (await runtime.removeNetwork(name).catch(() => false)) break;
    if (attempt >= 10) return false;
    await new Promise((r) => setTimeout(r, 500));
  }
  await new PodFirewall(subnet).remove();
  return true;
}

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
  private view: NetworkView | null = null;
  private readonly addresses = new HostAddresses();
  private readonly proxy: ServiceProxy;
  private dns: DnsServer | null = null;
  private firewall: PodFirewall | null = null;
  /** When the view was last read, and the read in flight (a pod's start may ask for a fresh one). */
  private fetchedAt = 0;
  private failedAt = 0;
  private fetching: Promise<void> | null = null;
  private readonly localReady = new Map<string, boolean>();
  private readonly localIPs = new Set<string>();
  readonly tunnel: Tunnel | null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private applying: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ClusterNetworkOptions) {
    const t = opts.tunnel;
    const tunnel = t
      ? new Tunnel({
          ...t,
          clusterId: opts.identity.clusterId,
          nodeId: opts.identity.nodeId,
          isLocalPod: (ip) => this.isPod(ip) && this.localIPs.has(ip),
          logger: opts.logger,
        })
      : null;
    this.tunnel = tunnel;
    this.proxy = new ServiceProxy({
      allowed: (source) => this.isPod(source),
      usable: (e) => this.localReady.get(e.podId) ?? true,
      logger: opts.logger,
      // An endpoint on another node is reached through that node's tunnel, even when it shares this host.
      dial: (e) =>
        tunnel && e.nodeName !== null && e.nodeName !== t?.nodeName ? tunnel.dial(e) : dialDirect(e),
    });
  }

  /** Makes the network (and serves what the last known view says), then keeps the view current. */
  async start(): Promise<void> {
    const { identity } = this.opts;
    this.network = await this.opts.runtime.ensureNetwork(clusterNetworkName(identity.clusterId), {
      "berth.io/cluster": identity.clusterId,
    });
    this.opts.logger.info({ network: this.network }, "pods join the cluster's network");
    this.firewall = new PodFirewall(this.network.subnet);
    await this.firewall.install();
    await this.tunnel?.start();
    const cached = await this.readCache();
    if (cached) await this.apply(cached);
    await this.poll();
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
    if (this.timer) clearTimeout(this.timer);
    await this.applying;
    this.proxy.stop();
    this.tunnel?.stop();
    this.dns?.stop();
    await this.addresses.removeAll();
  }

  /** The node leaves: the network and its firewall go too, once no container uses the network. */
  async leave(): Promise<void> {
    await this.stop();
    await dismantleClusterNetwork(this.opts.runtime, this.opts.identity.clusterId, this.network?.subnet);
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

  /** Whether an address is one of the cluster's pods on this host. */
  private isPod(source: string): boolean {
    return this.network !== null && inCidr(this.network.subnet, source) && source !== this.network.gateway;
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    await this.fetchView();
    if (!this.stopped) this.timer = setTimeout(() => void this.poll(), this.opts.pollMs);
  }

  private fetchView(): Promise<void> {
    this.fetching ??= (async () => {
      const started = Date.now();
      try {
        const view = await this.opts.fetchView();
        this.fetchedAt = started;
        // Also when a service address is not served here: an agent of the same host that held it may have gone.
        if (view.version !== this.view?.version || this.proxy.incomplete) {
          await this.apply(view);
          await this.writeCache(view);
        }
      } catch (error) {
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
    this.tunnel?.update(view);
    const wanted = new Set([view.dnsAddress, ...view.services.map((s) => s.clusterIP).filter(Boolean)]);
    for (const ip of wanted) await this.addresses.ensure(ip);
    if (!this.dns) {
      const dns = new DnsServer({
        address: view.dnsAddress,
        lookup: (name) => this.lookup(name),
        allowed: (source) => this.isPod(source),
        upstream: this.opts.dnsUpstream,
        logger: this.opts.logger,
      });
      await dns.start();
      this.dns = dns;
    }
    await this.proxy.update(view.services);
    const openings: Opening[] = [
      { ip: view.dnsAddress, port: 53, protocol: "udp" },
      ...view.services.flatMap((svc) =>
        svc.clusterIP
          ? svc.ports.map((p) => ({ ip: svc.clusterIP, port: p.port, protocol: "tcp" as const }))
          : [],
      ),
    ];
    await this.firewall?.allow(openings);
    await this.addresses.keepOnly(wanted);
  }

  private lookup(name: string): Lookup {
    const v = this.view;
    if (!v) return { kind: "outside" };
    const domain = v.clusterDomain;
    if (name !== domain && !name.endsWith(`.${domain}`)) return { kind: "outside" };
    const svc = name.slice(0, -(domain.length + 1)).split(".");
    if (svc.length === 3 && svc[2] === "svc") {
      const found = v.services.find((s) => s.name === svc[0] && s.namespace === svc[1]);
      if (found?.clusterIP) return { kind: "found", addresses: [found.clusterIP] };
    }
    return { kind: "missing" };
  }

  private async readCache(): Promise<NetworkView | null> {
    try {
      return networkViewSchema.parse(JSON.parse(await readFile(this.opts.cacheFile, "utf8")));
    } catch {
      return null;
    }
  }

  private async writeCache(view: NetworkView): Promise<void> {
    const tmp = `${this.opts.cacheFile}.tmp`;
    await writeFile(tmp, JSON.stringify(view));
    await rename(tmp, this.opts.cacheFile);
  }
}
