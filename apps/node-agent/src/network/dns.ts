import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import type { Logger } from "@berth/core";
import { type DnsRecord, QTYPE, RCODE, readQuestion, writeAnswer } from "./dns-message";
import type { Lookup } from "./dns-records";

export type { Lookup } from "./dns-records";

/** The record type a question asks for, by its name (`other` for the types the cluster has no records of). */
function typeOf(qtype: number): DnsRecord["type"] | "other" {
  for (const [name, code] of Object.entries(QTYPE))
    if (code === qtype && (name === "A" || name === "SRV" || name === "PTR" || name === "TXT")) return name;
  return "other";
}

export interface DnsServerOptions {
  address: string;
  port?: number;
  lookup: (name: string, type: DnsRecord["type"] | "other") => Lookup;
  /** Who may ask (the cluster's pods); anyone else is refused. */
  allowed: (source: string) => boolean;
  /** Where names outside the cluster are asked (the host's resolver), if anywhere. */
  upstream?: { address: string; port: number } | undefined;
  logger: Logger;
}

const UPSTREAM_TIMEOUT_MS = 2_000;

/**
 * The cluster's DNS server on a node, answered from the node's network view (dns-records.ts: a
 * service's clusterIP, a headless service's endpoints, SRV records of named ports; pods reach `web`
 * and `web.<ns>` through their resolver's search list), other names of the domain do not exist,
 * and the rest goes to the host's resolver.
 */
export class DnsServer {
  private socket: Socket | null = null;

  constructor(private readonly opts: DnsServerOptions) {}

  async start(): Promise<void> {
    const socket = createSocket({ type: "udp4", reuseAddr: true });
    socket.on("message", (msg, from) => this.answer(socket, msg, from));
    socket.on("error", (error) => this.opts.logger.warn({ err: error.message }, "cluster DNS socket failed"));
    await new Promise<void>((ok, fail) => {
      socket.once("error", fail);
      socket.bind(this.opts.port ?? 53, this.opts.address, () => {
        socket.off("error", fail);
        ok();
      });
    });
    this.socket = socket;
  }

  stop(): void {
    this.socket?.close();
    this.socket = null;
  }

  private answer(socket: Socket, msg: Buffer, from: RemoteInfo): void {
    const q = readQuestion(msg);
    if (!q) return;
    const reply = (rcode: number, answers: DnsRecord[] = [], additional: DnsRecord[] = []) => {
      this.opts.logger.trace({ name: q.name, type: q.type, from: from.address, rcode }, "DNS answer");
      socket.send(writeAnswer(msg, q, rcode, answers, additional), from.port, from.address);
    };
    if (!this.opts.allowed(from.address)) {
      reply(RCODE.refused);
      return;
    }
    const found = this.opts.lookup(q.name, typeOf(q.type));
    if (found.kind === "found") {
      reply(RCODE.noError, found.answers, found.additional);
      return;
    }
    if (found.kind === "missing") {
      reply(RCODE.nameError);
      return;
    }
    const upstream = this.opts.upstream;
    if (!upstream) {
      reply(RCODE.serverFailure);
      return;
    }
    const relay = createSocket("udp4");
    const timer = setTimeout(() => {
      relay.close();
      reply(RCODE.serverFailure);
    }, UPSTREAM_TIMEOUT_MS);
    relay.on("message", (answer) => {
      clearTimeout(timer);
      relay.close();
      socket.send(answer, from.port, from.address);
    });
    relay.on("error", () => {
      clearTimeout(timer);
      relay.close();
      reply(RCODE.serverFailure);
    });
    relay.send(msg, upstream.port, upstream.address);
  }
}
