import { connect, type Socket } from "node:net";

/** Where a connection goes: a ready endpoint's pod address and port. */
export interface DialTarget {
  ip: string;
  port: number;
}

/**
 * Opens a connection to an endpoint. The one place the gateway reaches pods: today a plain TCP
 * connection to the pod's address (the gateway runs on a host of the cluster's network); this is
 * the seam where the nodes' mutual-TLS tunnel goes for pods on other machines. The socket errors
 * with ETIMEDOUT when the connection is not up within `timeoutMs`.
 */
export function dial(target: DialTarget, timeoutMs: number): Socket {
  const socket = connect({ host: target.ip, port: target.port, noDelay: true });
  socket.setTimeout(timeoutMs, () => {
    if (socket.connecting)
      socket.destroy(
        Object.assign(new Error(`connect ETIMEDOUT ${target.ip}:${target.port}`), { code: "ETIMEDOUT" }),
      );
  });
  socket.once("connect", () => socket.setTimeout(0));
  return socket;
}

/** Errors that mean the endpoint was never reached: the next endpoint may be tried. */
export const isConnectError = (error: unknown): boolean =>
  ["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EHOSTDOWN"].includes(
    (error as { code?: string }).code ?? "",
  );

/** Round robin per backend: each call starts one further along the backend's endpoints. */
export class RoundRobin {
  private readonly next = new Map<string, number>();

  start(key: string): number {
    const n = this.next.get(key) ?? 0;
    this.next.set(key, (n + 1) % 1_000_000);
    return n;
  }
}
