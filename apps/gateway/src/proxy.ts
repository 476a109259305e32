import { type IncomingHttpHeaders, type IncomingMessage, request, type ServerResponse } from "node:http";
import { type DialTarget, dial, isConnectError, type RoundRobin } from "./dial";

/** Headers of one hop only (RFC 9110 §7.6.1): never forwarded. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "upgrade",
]);

function forwardHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const listed = String(headers.connection ?? "")
    .toLowerCase()
    .split(",")
    .map((s) => s.trim());
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined && !HOP_BY_HOP.has(k) && !listed.includes(k)) out[k] = v;
  return out;
}

export interface ProxyOptions {
  connectTimeoutMs: number;
  rr: RoundRobin;
}

/**
 * Forwards one request to one of `endpoints` (round robin from the backend's turn) and streams the
 * answer back; an endpoint that cannot be connected to is skipped for the next one — for requests
 * without a body, which can be sent again safely. Calls `done(status, bytes)` once the answer is
 * written (502 when no endpoint answered).
 */
export function proxy(
  req: IncomingMessage,
  res: ServerResponse,
  scheme: "http" | "https",
  key: string,
  endpoints: readonly DialTarget[],
  opts: ProxyOptions,
  done: (status: number, bytes: number, upstream: string | undefined) => void,
): void {
  const replayable = !req.headers["transfer-encoding"] && (req.headers["content-length"] ?? "0") === "0";
  const first = opts.rr.start(key);
  const headers = forwardHeaders(req.headers);
  const client = req.socket.remoteAddress ?? "";
  const prior = req.headers["x-forwarded-for"];
  headers["x-forwarded-for"] = prior ? `${prior}, ${client}` : client;
  headers["x-forwarded-proto"] = scheme;
  headers["x-forwarded-host"] = req.headers.host ?? "";
  const attempt = (n: number) => {
    const target = endpoints[(first + n) % endpoints.length] as DialTarget;
    const upstream = `${target.ip}:${target.port}`;
    let answered = false;
    const up = request({
      method: req.method,
      path: req.url,
      headers,
      createConnection: () => dial(target, opts.connectTimeoutMs),
    });
    up.on("response", (answer) => {
      answered = true;
      let bytes = 0;
      answer.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, forwardHeaders(answer.headers));
      answer.pipe(res);
      res.once("finish", () => done(answer.statusCode ?? 502, bytes, upstream));
      res.once("close", () => {
        if (!res.writableFinished) answer.destroy();
      });
    });
    up.on("error", (error) => {
      if (answered) return res.destroy(error);
      if (isConnectError(error) && replayable && n + 1 < endpoints.length) return attempt(n + 1);
      if (res.headersSent) return res.destroy(error);
      const body = `no endpoint of the backend answered (${(error as { code?: string }).code ?? error.message})\n`;
      res.writeHead(502, {
        "content-type": "text/plain; charset=utf-8",
        "content-length": Buffer.byteLength(body),
      });
      res.end(body);
      done(502, Buffer.byteLength(body), upstream);
    });
    req.once("aborted", () => up.destroy());
    if (replayable) up.end();
    else req.pipe(up);
  };
  attempt(0);
}

/** A short plain-text answer of the gateway's own (404, 503, redirects). */
export function answer(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): number {
  const body = `${text}\n`;
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
  return Buffer.byteLength(body);
}
