import { type SecureContext, type TLSSocket, connect as tlsConnect } from "node:tls";
import {
  type NetworkEndpoint,
  nodeIdentityUri,
  TUNNEL_OK,
  type TunnelPeer,
  tunnelHeader,
} from "@berth/protocol";
import type { Upstream } from "./service-proxy";

export interface DialStats {
  /** Connections sent to peers' tunnels; of those, how many took a spare (already handshaken) one. */
  dialled: number;
  pooled: number;
  /** TLS handshakes made, those that resumed a session (a ticket), and the time they took in all. */
  handshakes: number;
  resumed: number;
  handshakeMs: number;
}

/** Spare connections kept per peer that was dialled lately, and how long one may wait (the far side waits 30 s for a header). */
const SPARES = 2;
const SPARE_MAX_AGE_MS = 20_000;

interface Spare {
  socket: TLSSocket;
  timer: NodeJS.Timeout;
}

/**
 * The dialling side of the tunnel. A connection to a peer is TLS 1.3 with this node's certificate,
 * and the peer must present the certificate of the very node the endpoint is on. Handshakes resume
 * sessions (the peer's tickets), and a peer dialled lately gets a couple of spare connections made
 * ahead (handshake done, no header yet), so that a new proxied connection usually costs only the
 * header's round trip: the handshake is off its path.
 */
export class TunnelDialer {
  private context: SecureContext | null = null;
  private readonly sessions = new Map<string, Buffer>();
  private readonly spares = new Map<string, Spare[]>();
  private readonly making = new Map<string, number>();

  constructor(
    private readonly clusterId: string,
    readonly stats: DialStats,
  ) {}

  /** A new key, certificate or CA bundle: connections made under the old ones are not reused. */
  setContext(context: SecureContext): void {
    this.context = context;
    this.sessions.clear();
    this.dropSpares();
  }

  stop(): void {
    this.context = null;
    this.dropSpares();
  }

  /** A connection to `e`, a pod of `peer`, through the peer's tunnel. */
  dial(peer: TunnelPeer, e: NetworkEndpoint): Upstream {
    if (!this.context) throw new Error("no tunnel certificate yet");
    const key = `${peer.nodeId}@${peer.address}:${peer.port}`;
    this.stats.dialled++;
    const spare = this.takeSpare(key);
    if (spare) this.stats.pooled++;
    const made = spare ? { socket: spare, secured: Promise.resolve() } : this.connect(peer, key);
    this.refill(peer, key);
    const { socket } = made;
    const ready = made.secured.then(
      () =>
        new Promise<void>((ok, fail) => {
          socket.once("error", fail);
          socket.once("close", () => fail(new Error("tunnel closed")));
          socket.write(tunnelHeader(e.ip, e.port));
          socket.once("readable", () => {
            const b = socket.read(1) as Buffer | null;
            if (b?.[0] === TUNNEL_OK) ok();
            else socket.destroy(new Error("the tunnel's far side refused the target"));
          });
        }),
    );
    ready.catch(() => {});
    return { socket, ready };
  }

  private connect(peer: TunnelPeer, key: string): { socket: TLSSocket; secured: Promise<void> } {
    const context = this.context;
    if (!context) throw new Error("no tunnel certificate yet");
    const expected = nodeIdentityUri(this.clusterId, peer.nodeId);
    const session = this.sessions.get(key);
    const started = performance.now();
    const socket = tlsConnect({
      host: peer.address,
      port: peer.port,
      secureContext: context,
      minVersion: "TLSv1.3" as const,
      ...(session ? { session } : {}),
      // The peer must be the node the endpoint is on, not merely some node of the cluster.
      checkServerIdentity: (_host, cert) =>
        cert.subjectaltname === `URI:${expected}`
          ? undefined
          : new Error(`tunnel peer is ${cert.subjectaltname}, not ${expected}`),
    });
    socket.setNoDelay(true);
    socket.on("session", (ticket: Buffer) => this.sessions.set(key, ticket));
    const secured = new Promise<void>((ok, fail) => {
      socket.once("error", fail);
      socket.once("close", () => fail(new Error("tunnel closed")));
      socket.once("secureConnect", () => {
        this.stats.handshakes++;
        this.stats.handshakeMs += performance.now() - started;
        if (socket.isSessionReused()) this.stats.resumed++;
        ok();
      });
    });
    secured.catch(() => {});
    return { socket, secured };
  }

  private takeSpare(key: string): TLSSocket | undefined {
    const list = this.spares.get(key);
    for (let s = list?.pop(); s; s = list?.pop()) {
      clearTimeout(s.timer);
      if (!s.socket.destroyed && s.socket.readyState === "open") return s.socket;
      s.socket.destroy();
    }
    return undefined;
  }

  /** Makes spare connections to `peer` up to `SPARES` (each dropped unused after `SPARE_MAX_AGE_MS`). */
  private refill(peer: TunnelPeer, key: string): void {
    const have = (this.spares.get(key)?.length ?? 0) + (this.making.get(key) ?? 0);
    for (let i = have; i < SPARES; i++) {
      let made: ReturnType<TunnelDialer["connect"]>;
      try {
        made = this.connect(peer, key);
      } catch {
        return;
      }
      this.making.set(key, (this.making.get(key) ?? 0) + 1);
      const done = () => this.making.set(key, Math.max(0, (this.making.get(key) ?? 1) - 1));
      made.secured.then(
        () => {
          done();
          const list = this.spares.get(key) ?? [];
          this.spares.set(key, list);
          const spare: Spare = {
            socket: made.socket,
            timer: setTimeout(() => {
              const at = list.indexOf(spare);
              if (at >= 0) list.splice(at, 1);
              made.socket.destroy();
            }, SPARE_MAX_AGE_MS),
          };
          spare.timer.unref();
          made.socket.once("close", () => {
            const at = list.indexOf(spare);
            if (at >= 0) list.splice(at, 1);
            clearTimeout(spare.timer);
          });
          list.push(spare);
        },
        () => {
          done();
          made.socket.destroy();
        },
      );
    }
  }

  private dropSpares(): void {
    for (const list of this.spares.values())
      for (const s of list.splice(0)) {
        clearTimeout(s.timer);
        s.socket.destroy();
      }
  }
}
