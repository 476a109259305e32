import type { IncomingMessage } from "node:http";
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

export function requestMetaOf(c: Context<AppEnv>, deps: Deps, scratch: Scratch): RequestMeta {
  return {
    requestId: c.get("requestId"),
    sourceIp: sourceIpOf(c, deps.trustProxy),
    userAgent: c.req.header("user-agent") ?? "",
    secureTransport:
      new URL(c.req.url).protocol === "https:" ||
      (deps.trustProxy && c.req.header("x-forwarded-proto") === "https"),
    authorization: c.req.header("authorization"),
    signal: c.req.raw.signal,
    attribute: (who) => {
      scratch.attributedTo = who;
    },
    upgrade: upgradeOf(c) !== undefined,
  };
}
