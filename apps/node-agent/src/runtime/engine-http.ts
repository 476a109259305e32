import { request as httpRequest, type RequestOptions } from "node:http";
import { RuntimeError, type RuntimeErrorCode } from "./types";

/** Where the engine listens: a unix socket path, or a CONTAINER_HOST/DOCKER_HOST-style URL. */
export type EngineEndpoint = { socketPath: string } | { url: string };

interface Target {
  socketPath?: string;
  host?: string;
  port?: number;
  /** For error messages. */
  describe: string;
}

/** Accepts `{ socketPath }`, `unix:///path.sock`, a bare `/path.sock`, `tcp://host:port`, `http://host:port`. */
export function parseEndpoint(endpoint: EngineEndpoint): Target {
  if ("socketPath" in endpoint)
    return { socketPath: endpoint.socketPath, describe: `unix://${endpoint.socketPath}` };
  const raw = endpoint.url.trim();
  if (raw.startsWith("/")) return { socketPath: raw, describe: `unix://${raw}` };
  if (raw.startsWith("unix://")) {
    const socketPath = raw.slice("unix://".length);
    if (!socketPath.startsWith("/")) throw invalidEndpoint(raw, "a unix socket path must be absolute");
    return { socketPath, describe: raw };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw invalidEndpoint(raw, "not a URL", cause);
  }
  if (url.protocol !== "tcp:" && url.protocol !== "http:") {
    throw invalidEndpoint(raw, "use unix://, tcp:// or http:// (TLS is not supported)");
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw invalidEndpoint(raw, "no host");
  const port = url.port === "" ? (url.protocol === "tcp:" ? 2375 : 80) : Number(url.port);
  return { host, port, describe: raw };
}

function invalidEndpoint(raw: string, why: string, cause?: unknown): RuntimeError {
  return new RuntimeError("FAILED", `invalid container engine endpoint ${JSON.stringify(raw)}: ${why}`, {
    cause,
  });
}

export type QueryValue = string | number | boolean | readonly string[] | undefined;

export interface EngineRequest {
  method: "GET" | "POST" | "DELETE";
  /** Path below the API version prefix, e.g. `/containers/json`. */
  path: string;
  /** Another API version prefix for this request (Podman's own API, `v4.0.0`, for what Docker's lacks). */
  apiVersion?: string;
  query?: Record<string, QueryValue>;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Sent as is, with `contentType`. */
  body?: Buffer;
  contentType?: string;
  /** Overrides the client's default deadline for this request (whole request, not idle time). */
  timeoutMs?: number;
  /** Further request headers (`X-Registry-Auth` of a pull). */
  headers?: Record<string, string>;
}

export interface EngineResponse {
  status: number;
  body: Buffer;
}

export interface EngineClient {
  readonly endpoint: string;
  request(req: EngineRequest): Promise<EngineResponse>;
}

export interface EngineClientOptions {
  /** Default deadline per request. */
  timeoutMs?: number;
  /** Engine API version prefix; Podman's compat API answers v1.41 like Docker's. */
  apiVersion?: string;
  /** Responses larger than this fail instead of exhausting memory. */
  maxBodyBytes?: number;
}

const TRANSIENT_SOCKET_ERRORS = new Set([
  "ECONNREFUSED",
  "ENOENT",
  "ECONNRESET",
  "EPIPE",
  "EAI_AGAIN",
  "ETIMEDOUT",
]);

export function createEngineClient(endpoint: EngineEndpoint, opts: EngineClientOptions = {}): EngineClient {
  const target = parseEndpoint(endpoint);
  const defaultTimeoutMs = opts.timeoutMs ?? 30_000;
  const prefix = `/${opts.apiVersion ?? "v1.41"}`;
  const maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024 * 1024;

  function request(req: EngineRequest): Promise<EngineResponse> {
    const timeoutMs = req.timeoutMs ?? defaultTimeoutMs;
    const payload = req.json !== undefined ? Buffer.from(JSON.stringify(req.json)) : req.body;
    const headers: Record<string, string | number> = { ...req.headers, host: "engine" };
    if (payload !== undefined) {
      headers["content-type"] =
        req.json !== undefined ? "application/json" : (req.contentType ?? "application/octet-stream");
      headers["content-length"] = payload.length;
    }
    const options: RequestOptions = {
      method: req.method,
      path: (req.apiVersion ? `/${req.apiVersion}` : prefix) + req.path + queryString(req.query),
      headers,
      agent: false,
      ...(target.socketPath !== undefined
        ? { socketPath: target.socketPath }
        : { host: target.host, port: target.port }),
    };
    const what = `${req.method} ${req.path} on ${target.describe}`;

    return new Promise<EngineResponse>((resolve, reject) => {
      let settled = false;
      const finish = (err: RuntimeError | null, res?: EngineResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else if (res) resolve(res);
      };
      const timer = setTimeout(() => {
        finish(
          new RuntimeError("UNAVAILABLE", `${what} timed out after ${timeoutMs} ms`, { retryable: true }),
        );
        r.destroy();
      }, timeoutMs);

      const r = httpRequest(options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBodyBytes) {
            finish(new RuntimeError("FAILED", `${what}: response larger than ${maxBodyBytes} bytes`));
            r.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => finish(null, { status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on("error", (cause) => finish(transportError(what, cause)));
      });
      r.on("error", (cause) => finish(transportError(what, cause)));
      r.end(payload);
    });
  }

  return { endpoint: target.describe, request };
}

export function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (typeof value === "object") for (const v of value) params.append(key, v);
    else params.append(key, String(value));
  }
  const s = params.toString();
  return s === "" ? "" : `?${s}`;
}

function transportError(what: string, cause: unknown): RuntimeError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const reason = cause instanceof Error ? cause.message : String(cause);
  const retryable = code === undefined || TRANSIENT_SOCKET_ERRORS.has(code);
  return new RuntimeError("UNAVAILABLE", `${what} failed: container engine unreachable (${reason})`, {
    retryable,
    cause,
  });
}

/** The engine's own message: Docker sends `{message}`, Podman `{cause, message, response}`. */
export function engineMessage(res: EngineResponse): string {
  const text = res.body.toString("utf8").trim();
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object" && "message" in parsed && typeof parsed.message === "string") {
      return parsed.message;
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return text === "" ? "(empty body)" : text.slice(0, 500);
}

/**
 * Maps a failed response to a RuntimeError. Podman answers some conflicts with 500 where Docker
 * sends 409 ("name is already in use", "container state improper"), so those are recognised by text.
 */
export function responseError(
  res: EngineResponse,
  context: string,
  on404: RuntimeErrorCode = "NOT_FOUND",
): RuntimeError {
  const message = `${context}: ${engineMessage(res)} (HTTP ${res.status})`;
  if (res.status === 404) return new RuntimeError(on404, message);
  if (res.status === 409 || /already in use|state improper/i.test(message)) {
    return new RuntimeError("CONFLICT", message);
  }
  if (res.status === 502 || res.status === 503 || res.status === 504) {
    return new RuntimeError("UNAVAILABLE", message, { retryable: true });
  }
  return new RuntimeError("FAILED", message);
}
