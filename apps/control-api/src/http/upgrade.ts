import { type IncomingMessage, type Server, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { NODE_CHANNEL_MAX_MESSAGE_BYTES } from "@berth/protocol";
import type { Context } from "hono";
import { type WebSocket, WebSocketServer } from "ws";
import type { SocketReply } from "../operation";
import { EXEC_SUBPROTOCOLS } from "../streams/exec-socket";

/**
 * WebSockets on the Node server, through the same Hono routes (and so the same authenticate →
 * authorise → audit pipeline) as every other request: an upgrade request is run through the app
 * with an `upgrade` slot in its env; a `transport: "websocket"` operation fills the slot with
 * what to do with the socket, and only then is the handshake completed. Anything else the app
 * answers (401, 404, 503 …) goes back as an ordinary HTTP response, body included.
 */
export interface UpgradeSlot {
  reply?: SocketReply;
}

export function upgradeOf(c: Context): UpgradeSlot | undefined {
  return (c.env as { upgrade?: UpgradeSlot } | undefined)?.upgrade;
}

export interface WebSocketOptions {
  /** Largest message accepted (default 1 MiB, the node channel's limit). */
  maxPayloadBytes?: number;
  /** Sockets are pinged this often and dropped when a ping goes unanswered (default 20 s). */
  pingIntervalMs?: number;
}

type Fetch = (request: Request, env: Record<string, unknown>) => Response | Promise<Response>;

/** A well-formed WebSocket handshake (RFC 6455 §4.2.1); anything else is answered as plain HTTP. */
function isHandshake(req: IncomingMessage): boolean {
  return (
    req.method === "GET" &&
    req.headers.upgrade?.toLowerCase() === "websocket" &&
    /^[+/0-9A-Za-z]{22}==$/.test(req.headers["sec-websocket-key"] ?? "") &&
    req.headers["sec-websocket-version"] === "13"
  );
}

export function attachWebSockets(
  server: Server,
  app: { fetch: Fetch },
  opts: WebSocketOptions = {},
): { close(): void } {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxPayloadBytes ?? NODE_CHANNEL_MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    handleProtocols: (offered) => EXEC_SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  const alive = new WeakMap<WebSocket, boolean>();
  // The headers an operation's reply adds to its handshake's 101 response.
  const extraHeaders = new WeakMap<IncomingMessage, Record<string, string>>();
  wss.on("headers", (lines, req) => {
    for (const [k, v] of Object.entries(extraHeaders.get(req) ?? {})) lines.push(`${k}: ${v}`);
  });
  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, opts.pingIntervalMs ?? 20_000);
  pinger.unref?.();

  async function handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => socket.destroy());
    const slot: UpgradeSlot = {};
    const aborted = new AbortController();
    const onClose = () => aborted.abort();
    socket.once("close", onClose);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === "string") headers.set(k, v);
      else if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    let response: Response;
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      response = await app.fetch(
        new Request(url, { method: req.method ?? "GET", headers, signal: aborted.signal }),
        {
          incoming: req,
          ...(isHandshake(req) ? { upgrade: slot } : {}),
        },
      );
    } catch {
      response = new Response(JSON.stringify({ error: { code: "INTERNAL", message: "internal error" } }), {
        status: 500,
        headers: { "content-type": "application/json" },
      });
    }
    socket.off("close", onClose);
    const reply = slot.reply;
    if (reply) {
      if (socket.destroyed) return void reply.abandon();
      if (reply.headers) extraHeaders.set(req, reply.headers);
      wss.handleUpgrade(req, socket, head, (ws) => {
        alive.set(ws, true);
        ws.on("pong", () => alive.set(ws, true));
        reply.attach(ws);
      });
      return;
    }
    const body = Buffer.from(await response.arrayBuffer());
    const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ""}`];
    response.headers.forEach((value, key) => {
      if (key !== "content-length" && key !== "connection" && key !== "transfer-encoding")
        lines.push(`${key}: ${value}`);
    });
    lines.push(`content-length: ${body.length}`, "connection: close", "", "");
    if (!socket.destroyed) socket.end(Buffer.concat([Buffer.from(lines.join("\r\n")), body]));
  }

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => void handle(req, socket, head);
  server.on("upgrade", onUpgrade);
  return {
    close() {
      clearInterval(pinger);
      server.off("upgrade", onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
