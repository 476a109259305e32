import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context } from "hono";
import type { Deps } from "../deps";
import type { RequestMeta } from "../operation";
import type { AppEnv } from "./context";
import type { Scratch } from "./pipeline";
import { upgradeOf } from "./upgrade";

/**
 * The client's address: the socket's peer, or the first X-Forwarded-For hop when Berth runs behind
 * a proxy that sets it (TRUST_PROXY). Never trust that header otherwise: anyone can send it.
 */
export function sourceIpOf(c: Context<AppEnv>, trustProxy: boolean): string {
  if (trustProxy) {
    const first = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
    if (first) return first.slice(0, 64);
  }
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming?.socket.remoteAddress ?? "unknown";
}

/**
 * The request's abort signal, made only when an operation reads it. Hono's node server builds a
 * whole fetch `Request` (headers copied, an AbortController) the first time anything reads
 * `c.req.raw`: about a tenth of a plain read's CPU, for a signal most calls never look at. This one
 * aborts when the connection closes before the reply is finished, as the server's would.
 */
function lazySignal(c: Context<AppEnv>): () => AbortSignal {
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (!outgoing) return () => c.req.raw.signal;
  let controller: AbortController | undefined;
  return () => {
    if (controller) return controller.signal;
    const made = new AbortController();
    controller = made;
    const onClose = () => {
      if (!outgoing.writableFinished) made.abort(new Error("the client closed the connection"));
    };
    if (outgoing.closed) onClose();
    else outgoing.once("close", onClose);
    return made.signal;
  };
}

export function requestMetaOf(c: Context<AppEnv>, deps: Deps, scratch: Scratch): RequestMeta {
  const signal = lazySignal(c);
  return {
    requestId: c.get("requestId"),
    sourceIp: sourceIpOf(c, deps.trustProxy),
    userAgent: c.req.header("user-agent") ?? "",
    secureTransport:
      c.req.url.startsWith("https:") || (deps.trustProxy && c.req.header("x-forwarded-proto") === "https"),
    authorization: c.req.header("authorization"),
    get signal() {
      return signal();
    },
    attribute: (who) => {
      scratch.attributedTo = who;
    },
    upgrade: upgradeOf(c) !== undefined,
  };
}
