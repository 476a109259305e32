import { type ClientHttp2Session, type ClientHttp2Stream, connect, constants } from "node:http2";
import { type SecureContext, type TLSSocket, connect as tlsConnect } from "node:tls";
import type { Logger } from "@berth/core";
import { type NetworkEndpoint, nodeIdentityUri, type TunnelPeer, tunnelAuthority } from "@berth/protocol";
import type { Upstream } from "./service-proxy";
import {
  type ByteMeter,
  MAX_SESSION_MEMORY_MB,
  type SessionLimits,
  sessionSettings,
  superviseSession,
  type TunnelStats,
} from "./tunnel-session";

interface Live {
  session: ClientHttp2Session;
  /** Streams open on it now. */
  streams: number;
}

/** A peer's key: the node, and where its tunnel listens (a node that moved gets new sessions). */
const peerKey = (peer: TunnelPeer) => `${peer.nodeId}@${peer.address}:${peer.port}`;

/**
 * The dialling side of the tunnel. Every proxied connection to a pod of another node is one HTTP/2
 * `CONNECT` stream on a long-lived session to that node (TLS 1.3 with this node's certificate; the
 * peer must present the certificate of the very node the endpoint is on). A peer gets one session,
 * opened on first need and kept; a second when the first carries `maxStreams` streams. A session
 * that fails, is told to go away, or stops answering pings leaves the pool, and the next
 * connection opens a new one. A new certificate or CA bundle retires every session: they drain
 * (streams in flight finish) while new connections take new sessions.
 */
export class TunnelDialer {
  private context: SecureContext | null = null;
  private readonly pools = new Map<string, Live[]>();

  constructor(
    private readonly clusterId: string,
    private readonly stats: TunnelStats,
    private readonly bytes: ByteMeter,
    private readonly limits: SessionLimits,
    private readonly logger: Logger,
  ) {}

  /** A new key, certificate or CA bundle: sessions made under the old ones drain and are not reused. */
  setContext(context: SecureContext): void {
    this.context = context;
    for (const [key, list] of this.pools) {
      this.pools.delete(key);
      for (const live of list) live.session.close();
    }
  }

  /** Sessions to peers the view no longer lists (removed nodes, moved tunnels) are cut. */
  retain(peers: Iterable<TunnelPeer>): void {
    const keep = new Set([...peers].map(peerKey));
    for (const [key, list] of this.pools)
      if (!keep.has(key)) {
        this.pools.delete(key);
        for (const live of list) live.session.destroy();
      }
  }

  stop(): void {
    this.context = null;
    this.retain([]);
  }

  /** A connection to `e`, a pod of `peer`: a stream on a session to the peer's tunnel. */
  dial(peer: TunnelPeer, e: NetworkEndpoint): Upstream {
    const live = this.sessionTo(peer);
    live.streams++;
    this.stats.dialled++;
    this.stats.streamsOut++;
    const stream: ClientHttp2Stream = live.session.request(
      { ":method": "CONNECT", ":authority": tunnelAuthority(e.ip, e.port) },
      { endStream: false },
    );
    stream.once("close", () => {
      live.streams--;
      this.stats.streamsOut--;
    });
    const ready = new Promise<void>((ok, fail) => {
      stream.once("error", fail);
      stream.once("close", () => fail(new Error("the tunnel stream closed")));
      stream.once("response", (headers) => {
        if (headers[":status"] === 200) ok();
        else {
          fail(new Error(`the tunnel's far side refused the target (${headers[":status"]})`));
          stream.close(constants.NGHTTP2_CANCEL);
        }
      });
    });
    ready.catch(() => {});
    return { socket: stream, ready };
  }

  /** A session of the pool with room for one more stream, else a new one. */
  private sessionTo(peer: TunnelPeer): Live {
    const key = peerKey(peer);
    const list = this.pools.get(key) ?? [];
    this.pools.set(key, list);
    const room = (l: Live) =>
      l.streams < Math.min(this.limits.maxStreams, l.session.remoteSettings.maxConcurrentStreams ?? Infinity);
    const usable = list.find((l) => !l.session.closed && !l.session.destroyed && room(l));
    if (usable) return usable;
    const live = this.open(peer);
    list.push(live);
    const leave = () => {
      const at = list.indexOf(live);
      if (at >= 0) list.splice(at, 1);
      if (list.length === 0 && this.pools.get(key) === list) this.pools.delete(key);
    };
    live.session.once("goaway", leave);
    live.session.once("close", leave);
    return live;
  }

  private open(peer: TunnelPeer): Live {
    const context = this.context;
    if (!context) throw new Error("no tunnel certificate yet");
    const expected = nodeIdentityUri(this.clusterId, peer.nodeId);
    const started = performance.now();
    let socket: TLSSocket | undefined;
    const session = connect(`https://${peer.address}:${peer.port}`, {
      settings: sessionSettings(this.limits),
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      createConnection: () => {
        socket = tlsConnect({
          host: peer.address,
          port: peer.port,
          secureContext: context,
          minVersion: "TLSv1.3",
          ALPNProtocols: ["h2"],
          // The peer must be the node the endpoint is on, not merely some node of the cluster.
          checkServerIdentity: (_host, cert) =>
            cert.subjectaltname === `URI:${expected}`
              ? undefined
              : new Error(`tunnel peer is ${cert.subjectaltname}, not ${expected}`),
        });
        socket.setNoDelay(true);
        this.bytes.track(socket);
        return socket;
      },
    });
    this.stats.sessionsOut++;
    session.once("close", () => this.stats.sessionsOut--);
    session.on("error", (error) =>
      this.logger.debug({ err: error.message, peer: peer.nodeName }, "tunnel session failed"),
    );
    session.once("connect", () => {
      this.stats.handshakes++;
      this.stats.handshakeMs += performance.now() - started;
    });
    superviseSession(
      session,
      () => socket?.getPeerCertificate().valid_to ?? "",
      this.limits,
      () => {
        this.logger.warn({ peer: peer.nodeName }, "tunnel peer stopped answering pings: session dropped");
        session.destroy();
      },
    );
    return { session, streams: 0 };
  }
}
