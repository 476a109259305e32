/**
 * One check of a probe or lifecycle handler, as kubelet's probers make it: `httpGet` (200–399 is
 * success; redirects followed on the same host only, at most 10; one to another host ends the
 * probe as a warning), `tcpSocket` (a connection opens), `exec` (the command exits 0 within the
 * timeout). The messages are kubelet's (`HTTP probe failed with statuscode: 503`, Go's dial errors).
 *
 * Where a check goes: the container's own address on the engine's network, which the node reaches
 * directly — as kubelet probes the pod IP — so any port of the container can be probed, published
 * or not, and nothing depends on the node's public address routing back to itself. When the engine
 * gives no address (a network without one), the port's published host port on the node is used. A
 * `host` other than the pod's own address is refused: probes run from the node's network, and a
 * tenant must not use them (or their readiness) to reach or scan anything else.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import type { Handler } from "@berth/protocol";
import { type ContainerRuntime, isRuntimeError } from "../runtime";

export type CheckResult = "success" | "failure" | "warning" | "unknown";
export interface CheckOutcome {
  result: CheckResult;
  output: string;
}

/** Where a pod's container can be reached. */
export interface CheckTarget {
  containerId: string;
  /** The container's own address on the engine's network, while it runs. */
  address: string | null;
  /** Container port → where it is published on the node (used when there is no address). */
  published: ReadonlyMap<number, { host: string; port: number }>;
  /** The pod's address as its tenant knows it (`status.podIP`): a `host` may name it. */
  podAddress: string;
}

const MAX_BODY_BYTES = 10 * 1024;
const MAX_REDIRECTS = 10;

export async function runCheck(
  runtime: ContainerRuntime,
  h: Handler,
  target: CheckTarget,
  timeoutMs: number,
): Promise<CheckOutcome> {
  if (h.exec) return execCheck(runtime, h.exec.command, target.containerId, timeoutMs);
  if (h.httpGet) {
    const dest = destination(h.httpGet.host, h.httpGet.port, target);
    if ("refused" in dest) return { result: "failure", output: dest.refused };
    const scheme = h.httpGet.scheme === "HTTPS" ? "https" : "http";
    const path = h.httpGet.path.startsWith("/") ? h.httpGet.path : `/${h.httpGet.path}`;
    return httpCheck(
      new URL(`${scheme}://${hostPort(dest.host, dest.port)}${path}`),
      h.httpGet.httpHeaders,
      timeoutMs,
    );
  }
  if (h.tcpSocket) {
    const dest = destination(h.tcpSocket.host, h.tcpSocket.port, target);
    if ("refused" in dest) return { result: "failure", output: dest.refused };
    return tcpCheck(dest.host, dest.port, timeoutMs);
  }
  return { result: "unknown", output: "the handler has no exec, httpGet or tcpSocket" };
}

function destination(
  host: string | undefined,
  port: number,
  t: CheckTarget,
): { host: string; port: number } | { refused: string } {
  if (host !== undefined && host !== "" && host !== t.podAddress && host !== t.address)
    return {
      refused: `probe host ${JSON.stringify(host)} is not allowed: probes reach the pod's own address only`,
    };
  if (t.address) return { host: t.address, port };
  const published = t.published.get(port);
  if (published) return published;
  return {
    refused: `port ${port} of the container cannot be reached: it has no address and the port is not published`,
  };
}

const hostPort = (host: string, port: number) =>
  host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;

async function execCheck(
  runtime: ContainerRuntime,
  command: string[],
  containerId: string,
  timeoutMs: number,
): Promise<CheckOutcome> {
  try {
    const r = await runtime.execCommand(containerId, command, { timeoutMs });
    if (r.timedOut)
      return { result: "failure", output: `command ${JSON.stringify(command.join(" "))} timed out` };
    return { result: r.exitCode === 0 ? "success" : "failure", output: r.output };
  } catch (error) {
    // The container went away under the probe: no result (kubelet throws such results away).
    if (isRuntimeError(error)) return { result: "unknown", output: error.message };
    throw error;
  }
}

function tcpCheck(host: string, port: number, timeoutMs: number): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (outcome: CheckOutcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(
      () => done({ result: "failure", output: `dial tcp ${hostPort(host, port)}: i/o timeout` }),
      timeoutMs,
    );
    socket.once("connect", () => done({ result: "success", output: "" }));
    socket.once("error", (e) => done({ result: "failure", output: dialError(host, port, e) }));
  });
}

function dialError(host: string, port: number, e: NodeJS.ErrnoException): string {
  const why =
    e.code === "ECONNREFUSED"
      ? "connect: connection refused"
      : e.code === "EHOSTUNREACH"
        ? "connect: no route to host"
        : e.code === "ENETUNREACH"
          ? "connect: network is unreachable"
          : e.message;
  return `dial tcp ${hostPort(host, port)}: ${why}`;
}

async function httpCheck(
  first: URL,
  headers: readonly { name: string; value: string }[],
  timeoutMs: number,
): Promise<CheckOutcome> {
  const deadline = Date.now() + timeoutMs;
  let url = first;
  for (let hop = 0; ; hop++) {
    let res: { status: number; location: string | undefined; body: string };
    try {
      res = await get(url, headers, Math.max(1, deadline - Date.now()));
    } catch (error) {
      return { result: "failure", output: `Get ${JSON.stringify(url.href)}: ${(error as Error).message}` };
    }
    if (res.status >= 300 && res.status < 400 && res.location !== undefined) {
      const next = new URL(res.location, url);
      if (next.hostname === first.hostname && (next.protocol === "http:" || next.protocol === "https:")) {
        if (hop + 1 >= MAX_REDIRECTS)
          return {
            result: "failure",
            output: `Get ${JSON.stringify(next.href)}: stopped after 10 redirects`,
          };
        url = next;
        continue;
      }
    }
    if (res.status >= 200 && res.status < 400) {
      if (res.status >= 300)
        return { result: "warning", output: `Probe terminated redirects, Response body: ${res.body}` };
      return { result: "success", output: res.body };
    }
    return { result: "failure", output: `HTTP probe failed with statuscode: ${res.status}` };
  }
}

function get(
  url: URL,
  headers: readonly { name: string; value: string }[],
  timeoutMs: number,
): Promise<{ status: number; location: string | undefined; body: string }> {
  const hdrs: Record<string, string> = { "user-agent": "kube-probe/berth", accept: "*/*" };
  for (const h of headers) hdrs[h.name.toLowerCase()] = h.value;
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = send(
      url,
      { method: "GET", headers: hdrs, agent: false, rejectUnauthorized: false },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          if (size < MAX_BODY_BYTES) chunks.push(c.subarray(0, MAX_BODY_BYTES - size));
          size += c.length;
          if (size >= MAX_BODY_BYTES) res.destroy();
        });
        const finish = () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            location: res.headers.location,
            body: Buffer.concat(chunks).toString("utf8"),
          });
        };
        res.on("end", finish);
        res.on("close", finish);
      },
    );
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(new Error("context deadline exceeded (Client.Timeout exceeded while awaiting headers)"));
    }, timeoutMs);
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(e.code === "ECONNREFUSED" ? dialError(url.hostname, Number(url.port), e) : e.message));
    });
    req.end();
  });
}
