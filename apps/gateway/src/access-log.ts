import { createSocket, type Socket } from "node:dgram";

/** One request as HAProxy logged it (`LOG_FORMAT`). */
export interface LoggedRequest {
  scheme: "http" | "https";
  /** The HAProxy backend that answered: a route's `r_…`, or the gateway's own `be_…`. */
  backend: string;
  status: number;
  bytes: number;
  durationMs: number;
  client: string;
  method: string;
  host: string;
  path: string;
  /** The endpoint it went to, when one was reached. */
  upstream: string | undefined;
}

/** Parses one log line; undefined for anything else HAProxy says on the same socket. */
export function parseLogLine(line: string): LoggedRequest | undefined {
  const f = line.trimEnd().split(" ");
  if (f.length !== 10) return undefined;
  const [scheme, backend, status, bytes, ms, client, method, host, path, upstream] = f as [
    string,
    ...string[],
  ];
  if (scheme !== "http" && scheme !== "https") return undefined;
  const n = [Number(status), Number(bytes), Number(ms)];
  if (!n.every(Number.isFinite)) return undefined;
  let decodedHost: string;
  try {
    decodedHost = decodeURIComponent(host ?? "");
  } catch {
    decodedHost = host ?? "";
  }
  return {
    scheme,
    backend: backend ?? "",
    status: n[0] as number,
    bytes: n[1] as number,
    durationMs: Math.max(0, n[2] as number),
    client: client ?? "",
    method: method ?? "",
    host: decodedHost,
    path: path ?? "",
    upstream: upstream && !upstream.startsWith("-") && upstream !== ":" ? upstream : undefined,
  };
}

/**
 * The gateway's end of HAProxy's request log: a UDP socket on loopback (HAProxy's `log` target),
 * one datagram per request. A large receive buffer absorbs bursts; a datagram lost when the gateway
 * falls that far behind costs one request's count, never the request.
 */
export async function listenForLog(onRequest: (r: LoggedRequest) => void): Promise<Socket> {
  const socket = createSocket({ type: "udp4", recvBufferSize: 8 * 1024 * 1024 });
  socket.on("message", (msg) => {
    const r = parseLogLine(msg.toString("utf8"));
    if (r) onRequest(r);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      socket.off("error", reject);
      resolve();
    });
  });
  return socket;
}
