import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { connect as netConnect, type Socket } from "node:net";
import { createSecureContext, createServer, type Server, type TLSSocket } from "node:tls";
import type { Logger } from "@berth/core";
import {
  type NetworkEndpoint,
  type NetworkView,
  type NodeCertificateReply,
  parseNodeIdentityUri,
  parseTunnelHeader,
  TUNNEL_HEADER_MAX,
  TUNNEL_OK,
  type TunnelPeer,
} from "@berth/protocol";
import type { Upstream } from "./service-proxy";
import { type DialStats, TunnelDialer } from "./tunnel-dialer";

export interface TunnelOptions {
  clusterId: string;
  nodeId: string;
  /** Where the tunnel listens: the node's address, and a port (0: any free one). */
  address: string;
  port: number;
  /** A certificate for the node's public key, and the tunnel's port reported with it. */
  requestCertificate: (publicKeyPem: string, port: number) => Promise<NodeCertificateReply>;
  /** Whether an address is one of this node's own pods (the only targets a peer may ask for). */
  isLocalPod: (ip: string) => boolean;
  logger: Logger;
  /** A tunnelled connection gives up after this (TCP, TLS and the far side's dial; default 2 s). */
  connectTimeoutMs?: number;
}

export interface TunnelStats extends DialStats {
  /** Connections taken from peers and piped to a pod of this node. */
  accepted: number;
  /** Connections refused: no or an untrusted certificate, a peer not of the cluster, a target not ours. */
  refused: number;
}

const RETRY_MS = 30_000;
/** A peer's connection must name its target within this (its spare connections wait up to 20 s). */
const HEADER_TIMEOUT_MS = 30_000;

/**
 * The node's end of its cluster's mutual-TLS tunnel. It listens (TLS 1.3, client certificates
 * required, trusting only the cluster's CAs) on the node's address; a peer's connection names a pod
 * address and port in a first line, and is connected to it when the peer's certificate names a
 * node of this cluster and the address is one of this node's pods. The other way, `dial` carries a
 * service proxy's connection to an endpoint on another node through that node's tunnel (see
 * tunnel-dialer.ts: resumed sessions, spare connections made ahead).
 *
 * The node's key is made here, in memory, and never leaves the process; its certificate is asked
 * for at start and again at half its life.
 */
export class Tunnel {
  private readonly key = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  private readonly server: Server;
  private cert: NodeCertificateReply | null = null;
  private bundle: string[] = [];
  private peers = new Map<string, TunnelPeer>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private listening = 0;
  readonly stats: TunnelStats = {
    accepted: 0,
    refused: 0,
    dialled: 0,
    pooled: 0,
    handshakes: 0,
    resumed: 0,
    handshakeMs: 0,
  };
  private readonly dialer: TunnelDialer;

  constructor(private readonly opts: TunnelOptions) {
    this.dialer = new TunnelDialer(opts.clusterId, this.stats);
    this.server = createServer(
      { requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.3", noDelay: true },
      (socket) => this.accept(socket),
    );
    this.server.on("tlsClientError", (error) => {
      this.stats.refused++;
      opts.logger.debug({ err: error.message }, "tunnel: refused a handshake");
    });
  }

  get port(): number {
    return this.listening;
  }

  /** Listens, then gets the node's certificate (retried until it comes) and keeps it renewed. */
  async start(): Promise<void> {
    try {
      await this.listen(this.opts.port);
    } catch (error) {
      // Another process holds the port (several agents on one host): any free port serves as
      // well, since the port is reported to the control plane with each certificate request.
      if ((error as { code?: string }).code !== "EADDRINUSE" || this.opts.port === 0) throw error;
      this.opts.logger.warn(
        { port: this.opts.port, address: this.opts.address },
        "tunnel port in use: listening on a free port instead",
      );
      await this.listen(0);
    }
    this.listening = (this.server.address() as { port: number }).port;
    this.server.on("error", (e) => this.opts.logger.warn({ err: e.message }, "tunnel listener failed"));
    await this.renew();
  }

  private listen(port: number): Promise<void> {
    return new Promise<void>((ok, fail) => {
      this.server.once("error", fail);
      this.server.listen({ host: this.opts.address, port }, () => {
        this.server.off("error", fail);
        ok();
      });
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.dialer.stop();
    this.server.close();
  }

  /** The cluster's tunnels and CAs as the control plane's view lists them. */
  update(view: NetworkView): void {
    this.peers = new Map((view.tunnels ?? []).map((t) => [t.nodeName, t]));
    const bundle = view.caBundle ?? [];
    if (bundle.length > 0 && bundle.join() !== this.bundle.join()) {
      this.bundle = bundle;
      this.applyContext();
    }
  }

  /** A connection to a pod of another node, through that node's tunnel (throws when there is none). */
  dial(e: NetworkEndpoint): Upstream {
    const peer = e.nodeName ? this.peers.get(e.nodeName) : undefined;
    if (!peer) throw new Error(`no tunnel to node ${e.nodeName} (yet)`);
    return this.dialer.dial(peer, e);
  }

  private applyContext(): void {
    if (!this.cert || this.bundle.length === 0) return;
    const options = {
      key: this.key.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      cert: this.cert.certificate,
      ca: this.bundle,
      minVersion: "TLSv1.3" as const,
    };
    this.dialer.setContext(createSecureContext(options));
    this.server.setSecureContext(options);
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    let wait = RETRY_MS;
    try {
      const pem = this.key.publicKey.export({ type: "spki", format: "pem" }).toString();
      const reply = await this.opts.requestCertificate(pem, this.listening);
      const cert = new X509Certificate(reply.certificate);
      if (!cert.publicKey.equals(this.key.publicKey))
        throw new Error("the certificate is not for this node's key");
      this.cert = reply;
      if (reply.caBundle.length > 0) this.bundle = reply.caBundle;
      this.applyContext();
      wait = Math.max(1_000, Date.parse(reply.renewAt) - Date.now());
      this.opts.logger.info(
        { identity: reply.identity, expiresAt: reply.expiresAt, port: this.listening },
        "tunnel certificate issued",
      );
    } catch (error) {
      this.opts.logger.warn({ err: (error as Error).message }, "could not get the tunnel certificate");
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.renew(), Math.min(wait, 2 ** 31 - 1));
  }

  /** A peer's connection: its certificate passed TLS; its identity and its target are checked here. */
  private accept(socket: TLSSocket): void {
    socket.on("error", () => socket.destroy());
    const refuse = (why: string, extra: Record<string, unknown> = {}) => {
      this.stats.refused++;
      this.opts.logger.warn({ ...extra, why }, "tunnel: refused a connection");
      socket.destroy();
    };
    const san = socket.getPeerCertificate().subjectaltname ?? "";
    const who = san.startsWith("URI:") ? parseNodeIdentityUri(san.slice(4)) : null;
    if (!who || who.clusterId !== this.opts.clusterId) {
      refuse("not a node of this cluster", { san });
      return;
    }
    if (![...this.peers.values()].some((p) => p.nodeId === who.nodeId)) {
      refuse("not a live node of this cluster", { san });
      return;
    }
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => refuse("no header"), HEADER_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf(0x0a);
      if (end < 0) {
        if (buffered.length > TUNNEL_HEADER_MAX) {
          clearTimeout(timer);
          socket.off("data", onData);
          refuse("header too long");
        }
        return;
      }
      clearTimeout(timer);
      socket.off("data", onData);
      socket.pause();
      const target = parseTunnelHeader(buffered.subarray(0, end).toString("latin1"));
      if (!target || !this.opts.isLocalPod(target.ip)) {
        refuse("the target is not a pod of this node", { target: target ?? "malformed" });
        return;
      }
      const rest = buffered.subarray(end + 1);
      this.pipe(socket, target, rest);
    };
    socket.on("data", onData);
  }

  private pipe(socket: TLSSocket, target: { ip: string; port: number }, rest: Buffer): void {
    const upstream: Socket = netConnect({ host: target.ip, port: target.port, noDelay: true });
    const timer = setTimeout(
      () => upstream.destroy(new Error("connect timeout")),
      this.opts.connectTimeoutMs ?? 2_000,
    );
    upstream.once("error", () => {
      clearTimeout(timer);
      socket.destroy();
    });
    upstream.once("connect", () => {
      clearTimeout(timer);
      this.stats.accepted++;
      socket.write(Buffer.from([TUNNEL_OK]));
      if (rest.length > 0) upstream.write(rest);
      socket.on("close", () => upstream.destroy());
      upstream.on("close", () => socket.destroy());
      socket.pipe(upstream);
      upstream.pipe(socket);
      socket.resume();
    });
  }
}
