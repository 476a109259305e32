import { createHmac, randomBytes } from "node:crypto";
import { BlockList, isIP } from "node:net";

/**
 * Outgoing webhooks: the event types, the signature (Stripe's scheme) and which addresses a
 * delivery may go to. Pure: the provisioner delivers, the control API checks URLs when they are
 * registered.
 */
export const WEBHOOK_EVENT_TYPES = ["budget.threshold"] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
export const WEBHOOK_SIGNATURE_HEADER = "Berth-Signature";

/** A new endpoint's signing secret: `whsec_` and 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the secret>`: a receiver
 * recomputes v1 over the raw body it got and refuses a timestamp too far from its clock (replays).
 */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const v1 = createHmac("sha256", secret).update(`${unixSeconds}.${body}`).digest("hex");
  return `t=${unixSeconds},v1=${v1}`;
}

/**
 * Addresses no webhook may reach: private, loopback, link-local, CGNAT, multicast, reserved.
 * BlockList matches IPv4-mapped IPv6 addresses (`::ffff:a00:1`) against the IPv4 rules.
 */
const blocked = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const)
  blocked.addSubnet(net, prefix, "ipv4");
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96], // NAT64
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
] as const)
  blocked.addSubnet(net, prefix, "ipv6");

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

/** The IPv4 address an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) carries, else the address. */
function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m?.[1] ?? address;
}

/**
 * Why a webhook may not be delivered to this IP address, or null when it may: only public
 * addresses, and loopback when `allowLoopback` (tests and local development).
 */
export function webhookAddressProblem(address: string, opts: { allowLoopback: boolean }): string | null {
  const ip = unmapped(address);
  const family = isIP(ip);
  if (family === 0) return `${address} is not an IP address`;
  const type = family === 4 ? "ipv4" : "ipv6";
  if (loopback.check(ip, type)) return opts.allowLoopback ? null : `${address} is a loopback address`;
  if (blocked.check(ip, type)) return `${address} is a private, link-local or reserved address`;
  return null;
}

/**
 * Why a URL cannot be a webhook endpoint, or null: https only, with no credentials in it; plain
 * http only to a loopback host when `allowLoopbackHttp`. A host written as an IP address is
 * checked here; a name is checked when each delivery resolves it.
 */
export function webhookUrlProblem(raw: string, opts: { allowLoopbackHttp: boolean }): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an absolute URL";
  }
  if (url.username || url.password) return "must not carry credentials";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const isLoopbackHost =
    host === "localhost" ||
    (isIP(host) !== 0 && loopback.check(unmapped(host), isIP(unmapped(host)) === 4 ? "ipv4" : "ipv6"));
  if (url.protocol === "http:") {
    if (!(opts.allowLoopbackHttp && isLoopbackHost)) return "must be https";
  } else if (url.protocol !== "https:") return "must be https";
  if (isLoopbackHost) return opts.allowLoopbackHttp ? null : "must not point at a loopback address";
  if (isIP(host) !== 0) return webhookAddressProblem(host, { allowLoopback: false });
  return null;
}
