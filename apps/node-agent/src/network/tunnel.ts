import { generateKeyPairSync, X509Certificate } from "node:crypto";
import {
  createSecureServer,
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import { connect as netConnect } from "node:net";
import { createSecureContext, type TLSSocket } from "node:tls";
import type { Logger } from "@berth/core";
import {
  type NetworkEndpoint,
  type NetworkView,
  type NodeCertificateReply,
  parseNodeIdentityUri,
  parseTunnelAuthority,
  type TunnelPeer,
} from "@berth/protocol";
import type { Upstream } from "./service-proxy";
import { splice } from "./splice";
import { TunnelDialer } from "./tunnel-dialer";
import {
  ByteMeter,
  MAX_SESSION_MEMORY_MB,
  SESSION_LIMITS,
  type SessionLimits,
  sessionSettings,
  superviseSession,
  type TunnelStats,
} from "./tunnel-session";

export type { TunnelStats } from "./tunnel-session";

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
  /** A stream's connection to its pod gives up after this (default 2 s). */
  connectTimeoutMs?: number;
  /** Streams per session, and the keep-alive (default `SESSION_LIMITS`). */
  limits?: Partial<SessionLimits>;
}

const RETRY_MS = 30_000;

/**
 * The node's end of its cluster's mutual-TLS tunnel: HTTP/2 over TLS 1.3 on the node's address,
 * client certificates required, trusting only the cluster's CAs. A peer keeps a long-lived session
 * (one TLS connection) to it and carries each proxied connection as one `CONNECT` stream whose
 * `:authority` names a pod address and port. The session is kept only while the peer's
 * certificate names a live node of this cluster; a stream is connected to its target only when
 * that is one of this node's pods. HTTP/2's per-stream flow control carries backpressure both
 * ways; a stream's end is the pod connection's FIN, and a reset either way resets the other
 * (splice.ts). The other way, `dial` carries a service proxy's connection to an endpoint on
 * another node through that node's tunnel (tunnel-dialer.ts).
 *
 * The node's key is made here, in memory, and never leaves the process; its certificate is asked
 * for at start and again at half its life.
 */
export class Tunnel {
  private readonly key = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  private readonly server: Http2SecureServer;
  private cert: NodeCertificateReply | null = null;
  private bundle: string[] = [];
  private peers = new Map<string, TunnelPeer>();
  /** Sessions peers opened to this node, by the peer's node id. */
  private readonly inbound = new Map<ServerHttp2Session, string>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private listening = 0;
  private readonly limits: SessionLimits;
  private readonly bytes = new ByteMeter();
  private readonly counters: TunnelStats = {
    accepted: 0,
    refused: 0,
    dialled: 0,
    handshakes: 0,
    handshakeMs: 0,
    sessionsOut: 0,
    sessionsIn: 0,
    streamsOut: 0,
    streamsIn: 0,
    sentBytes: 0,
    receivedBytes: 0,
  };
  private readonly dialer: TunnelDialer;

  constructor(private readonly opts: TunnelOptions) {
    this.limits = { ...SESSION_LIMITS, ...opts.limits };
    this.dialer = new TunnelDialer(opts.clusterId, this.counters, this.bytes, this.limits, opts.logger);
    this.server = createSecureServer({
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: "TLSv1.3",
      noDelay: true,
      settings: sessionSettings(this.limits),
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
    });
    // Before the HTTP/2 session is made on it: its bytes are counted from the start.
    this.server.prependListener("secureConnection", (socket: TLSSocket) => this.bytes.track(socket));
    this.server.on("session", (session) => this.admit(session));
    this.server.on("tlsClientError", (error) => {
      this.counters.refused++;
      opts.logger.debug({ err: error.message }, "tunnel: refused a handshake");
    });
  }

  get port(): number {
    return this.listening;
  }

  get stats(): TunnelStats {
    return { ...this.counters, sentBytes: this.bytes.sent, receivedBytes: this.bytes.received };
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

  /** Stops listening and cuts every session, both ways. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.dialer.stop();
    this.server.close();
    for (const session of this.inbound.keys()) session.destroy();
  }

  /** The cluster's tunnels and CAs as the control plane's view lists them. */
  update(view: NetworkView): void {
    this.peers = new Map((view.tunnels ?? []).map((t) => [t.nodeName, t]));
    this.dialer.retain(this.peers.values());
    // A node that left (or was removed) loses its sessions to this node at once.
    for (const [session, nodeId] of this.inbound) if (!this.isLive(nodeId)) session.destroy();
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

  private isLive(nodeId: string): boolean {
    for (const p of this.peers.values()) if (p.nodeId === nodeId) return true;
    return false;
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

  /** A peer's session: its certificate passed TLS; whose it is is checked here, then each stream's target. */
  private admit(session: ServerHttp2Session): void {
    session.on("error", (error) => this.opts.logger.debug({ err: error.message }, "tunnel session failed"));
    const cert = (session.socket as TLSSocket).getPeerCertificate();
    const san = cert.subjectaltname ?? "";
    const who = san.startsWith("URI:") ? parseNodeIdentityUri(san.slice(4)) : null;
    if (!who || who.clusterId !== this.opts.clusterId || !this.isLive(who.nodeId)) {
      this.counters.refused++;
      this.opts.logger.warn(
        { san, why: who?.clusterId === this.opts.clusterId ? "not a live node" : "not of this cluster" },
        "tunnel: refused a session",
      );
      session.destroy();
      return;
    }
    this.inbound.set(session, who.nodeId);
    this.counters.sessionsIn++;
    session.once("close", () => {
      this.inbound.delete(session);
      this.counters.sessionsIn--;
    });
    superviseSession(
      session,
      () => cert.valid_to,
      this.limits,
      () => session.destroy(),
    );
    session.on("stream", (stream, headers) => this.open(stream, headers, san));
  }

  /** A peer's stream: connected to the pod its `:authority` names when that is one of this node's. */
  private open(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, san: string): void {
    stream.on("error", () => {});
    const refuse = (status: number, why: string) => {
      this.counters.refused++;
      this.opts.logger.warn({ san, target: headers[":authority"], why }, "tunnel: refused a stream");
      if (!stream.destroyed) stream.respond({ ":status": status }, { endStream: true });
    };
    const target =
      headers[":method"] === "CONNECT" ? parseTunnelAuthority(String(headers[":authority"] ?? "")) : null;
    if (!target || !this.opts.isLocalPod(target.ip)) {
      refuse(headers[":method"] === "CONNECT" ? 403 : 405, "the target is not a pod of this node");
      return;
    }
    this.counters.streamsIn++;
    stream.once("close", () => this.counters.streamsIn--);
    const pod = netConnect({ host: target.ip, port: target.port, noDelay: true, allowHalfOpen: true });
    const timer = setTimeout(
      () => pod.destroy(new Error("connect timeout")),
      this.opts.connectTimeoutMs ?? 2_000,
    );
    const gone = () => pod.destroy();
    stream.once("close", gone);
    pod.once("error", () => {
      clearTimeout(timer);
      if (!stream.destroyed && !stream.headersSent) stream.respond({ ":status": 502 }, { endStream: true });
    });
    pod.once("connect", () => {
      clearTimeout(timer);
      stream.off("close", gone);
      if (stream.destroyed) {
        pod.destroy();
        return;
      }
      this.counters.accepted++;
      stream.respond({ ":status": 200 });
      splice(stream, pod);
    });
  }
}
