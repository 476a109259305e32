import type { Http2Session, Settings } from "node:http2";
import type { TLSSocket } from "node:tls";

/**
 * What the two ends of a tunnel session share: HTTP/2 settings, the keep-alive, the end of a
 * session at its peer certificate's expiry, and the counters.
 */

export interface TunnelStats {
  /** Streams from peers connected to a pod of this node. */
  accepted: number;
  /** Refused: handshakes (no or an untrusted certificate), sessions (a peer not a live node of the cluster), streams (a target not ours). */
  refused: number;
  /** Streams (proxied connections) this node opened to other nodes' tunnels. */
  dialled: number;
  /** Sessions this node opened to other nodes (one TCP connection and TLS 1.3 handshake each), and the time those took in all. */
  handshakes: number;
  handshakeMs: number;
  /** Sessions and streams open now: those this node opened to peers, and those peers opened to it. */
  sessionsOut: number;
  sessionsIn: number;
  streamsOut: number;
  streamsIn: number;
  /** Bytes on the wire (TLS records) of every session, both ways, since start. */
  sentBytes: number;
  receivedBytes: number;
}

/** Limits of one session; the defaults are the tunnel's. */
export interface SessionLimits {
  /** Streams open at once on one session (the receiving node advertises it; the dialler opens another session beyond it). */
  maxStreams: number;
  /** A ping every this often on every session; one unanswered for `pingTimeoutMs` ends the session. */
  pingIntervalMs: number;
  pingTimeoutMs: number;
}

export const SESSION_LIMITS: SessionLimits = { maxStreams: 256, pingIntervalMs: 1_000, pingTimeoutMs: 4_000 };

/**
 * Each stream may have 256 KiB in flight (its flow-control window): what a receiving agent holds
 * at most for a stream whose reader is slow, so at most `maxStreams` × 256 KiB (64 MiB) for a
 * session whose every stream is stalled (Node credits the session's own window as data arrives,
 * so stalled streams never hold up the others). The session window only bounds what is in flight
 * before that credit.
 */
const STREAM_WINDOW = 256 << 10;
const SESSION_WINDOW = 16 << 20;

export const sessionSettings = (limits: SessionLimits): Settings => ({
  initialWindowSize: STREAM_WINDOW,
  maxConcurrentStreams: limits.maxStreams,
  enablePush: false,
});

/** nghttp2's own buffers per session, in MB (Node's default is 10): above it new streams are refused. */
export const MAX_SESSION_MEMORY_MB = 64;

/**
 * Keeps a session honest once it is up: the larger connection window, pings (a peer that does not
 * answer one within `pingTimeoutMs` — dead, or cut off without a FIN — loses the session), and an
 * end (GOAWAY; streams in flight finish) when the peer's certificate expires, since TLS checks
 * it only at the handshake.
 */
export function superviseSession(
  session: Http2Session,
  /** The peer certificate's `valid_to`, read once the session is up. */
  peerValidTo: () => string,
  limits: SessionLimits,
  onDead: () => void,
): void {
  const start = () => {
    session.setLocalWindowSize(SESSION_WINDOW);
    let unanswered = 0;
    const ping = setInterval(() => {
      if (session.closed || session.destroyed) return;
      if (unanswered > 0 && Date.now() - unanswered > limits.pingTimeoutMs) {
        clearInterval(ping);
        onDead();
        return;
      }
      if (unanswered > 0) return;
      const sent = Date.now();
      unanswered = sent;
      session.ping((error) => {
        if (!error && unanswered === sent) unanswered = 0;
      });
    }, limits.pingIntervalMs);
    ping.unref();
    const until = Date.parse(peerValidTo());
    const expiry = Number.isFinite(until)
      ? setTimeout(() => session.close(), Math.min(Math.max(0, until - Date.now()), 2 ** 31 - 1))
      : undefined;
    expiry?.unref();
    session.once("close", () => {
      clearInterval(ping);
      clearTimeout(expiry);
    });
  };
  if (session.connecting) session.once("connect", start);
  else start();
}

/** Bytes sent and received by a set of TLS sockets, those closed included. */
export class ByteMeter {
  private readonly live = new Set<TLSSocket>();
  private closedSent = 0;
  private closedReceived = 0;

  track(socket: TLSSocket): void {
    this.live.add(socket);
    socket.once("close", () => {
      this.live.delete(socket);
      this.closedSent += socket.bytesWritten;
      this.closedReceived += socket.bytesRead;
    });
  }

  get sent(): number {
    let n = this.closedSent;
    for (const s of this.live) n += s.bytesWritten;
    return n;
  }

  get received(): number {
    let n = this.closedReceived;
    for (const s of this.live) n += s.bytesRead;
    return n;
  }
}
