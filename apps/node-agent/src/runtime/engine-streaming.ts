/**
 * Engine requests whose bodies are streams: a log read while it is written, and the hijacked
 * connection of an attached exec (`Connection: Upgrade`, `Upgrade: tcp`), over which stdin goes
 * one way and the process's output the other.
 */
import {
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from "node:http";
import type { Duplex } from "node:stream";
import {
  type EngineEndpoint,
  type EngineRequest,
  parseEndpoint,
  queryString,
  responseError,
} from "./engine-http";
import { RuntimeError } from "./types";

export interface StreamingOptions {
  /** How long the engine may take to answer with headers (the body may then take any time). */
  headersTimeoutMs: number;
  apiVersion?: string;
}

/** Error bodies are short; read at most this much of one. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

function optionsOf(endpoint: EngineEndpoint, req: EngineRequest, opts: StreamingOptions, upgrade: boolean) {
  const target = parseEndpoint(endpoint);
  const payload = req.json !== undefined ? Buffer.from(JSON.stringify(req.json)) : undefined;
  const headers: Record<string, string | number> = { host: "engine" };
  if (payload) {
    headers["content-type"] = "application/json";
    headers["content-length"] = payload.length;
  }
  if (upgrade) {
    headers.connection = "Upgrade";
    headers.upgrade = "tcp";
  }
  const options: RequestOptions = {
    method: req.method,
    path: `/${opts.apiVersion ?? "v1.41"}${req.path}${queryString(req.query)}`,
    headers,
    agent: false,
    ...(target.socketPath !== undefined
      ? { socketPath: target.socketPath }
      : { host: target.host, port: target.port }),
  };
  return { options, payload, what: `${req.method} ${req.path} on ${target.describe}` };
}

/** Reads a failed response's (short) body and maps it to a RuntimeError. */
function failed(res: IncomingMessage, context: string): Promise<RuntimeError> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () =>
      resolve(responseError({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }, context));
    res.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_ERROR_BODY_BYTES) chunks.push(c);
      else res.destroy();
    });
    res.on("end", done);
    res.on("close", done);
    res.on("error", done);
  });
}

function unreachable(what: string, cause: unknown): RuntimeError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new RuntimeError("UNAVAILABLE", `${what} failed: container engine unreachable (${reason})`, {
    retryable: true,
    cause,
  });
}

function withHeadersTimeout<T>(
  r: ClientRequest,
  what: string,
  timeoutMs: number,
  executor: (resolve: (v: T) => void, reject: (e: unknown) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settle(() =>
        reject(
          new RuntimeError("UNAVAILABLE", `${what}: no answer within ${timeoutMs} ms`, { retryable: true }),
        ),
      );
      r.destroy();
    }, timeoutMs);
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    r.on("error", (cause) => settle(() => reject(unreachable(what, cause))));
    executor(
      (v) => settle(() => resolve(v)),
      (e) => settle(() => reject(e)),
    );
  });
}

/** A 2xx response whose body is read as it comes; anything else is thrown as a RuntimeError. */
export function openEngineStream(
  endpoint: EngineEndpoint,
  req: EngineRequest,
  context: string,
  opts: StreamingOptions,
): Promise<IncomingMessage> {
  const { options, payload, what } = optionsOf(endpoint, req, opts, false);
  const r = httpRequest(options);
  const answered = withHeadersTimeout<IncomingMessage>(r, what, opts.headersTimeoutMs, (resolve, reject) => {
    r.on("response", (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) resolve(res);
      else void failed(res, context).then(reject);
    });
  });
  r.end(payload);
  return answered;
}

/** The two ways an engine answers an attach: the raw connection (stdin works), or a response body. */
export type Hijacked = { kind: "socket"; socket: Duplex } | { kind: "body"; body: IncomingMessage };

/** Sends `req` asking to take the connection over (`Upgrade: tcp`), as Docker's attach and exec start do. */
export function hijackEngine(
  endpoint: EngineEndpoint,
  req: EngineRequest,
  context: string,
  opts: StreamingOptions,
): Promise<Hijacked> {
  const { options, payload, what } = optionsOf(endpoint, req, opts, true);
  const r = httpRequest(options);
  const answered = withHeadersTimeout<Hijacked>(r, what, opts.headersTimeoutMs, (resolve, reject) => {
    r.on("upgrade", (_res, socket, head) => {
      if (head.length > 0) socket.unshift(head);
      resolve({ kind: "socket", socket });
    });
    r.on("response", (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) resolve({ kind: "body", body: res });
      else void failed(res, context).then(reject);
    });
  });
  r.end(payload);
  return answered;
}
