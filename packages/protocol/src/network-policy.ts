import { z } from "zod";

/**
 * NetworkPolicies as a node enforces them: the control plane resolves selectors, namespaces and
 * named ports to addresses and port numbers; the node matches connections against what is left.
 * A pod address listed under `ingress` takes new connections only from what one of its `allow`
 * entries admits (the union of every policy of type Ingress that selects it); one listed under
 * `egress` opens connections only to what one of its entries admits. A pod not listed is open, as
 * in Kubernetes (default allow). Replies to allowed connections always pass.
 */
export const policyPortSchema = z.object({
  protocol: z.enum(["TCP", "UDP"]),
  /** Absent: every port of the protocol. */
  port: z.number().int().min(1).max(65535).optional(),
  endPort: z.number().int().min(1).max(65535).optional(),
});
export type PolicyPort = z.infer<typeof policyPortSchema>;

export const policyAllowSchema = z.object({
  /** The peer's addresses: a pod's as a /32, or an ipBlock's. */
  cidr: z.string(),
  except: z.array(z.string()),
  /** null: every port and protocol. */
  ports: z.array(policyPortSchema).nullable(),
});
export type PolicyAllow = z.infer<typeof policyAllowSchema>;

export const podPolicySchema = z.object({
  ip: z.string(),
  allow: z.array(policyAllowSchema),
});
export type PodPolicy = z.infer<typeof podPolicySchema>;

export const networkPoliciesSchema = z.object({
  ingress: z.array(podPolicySchema),
  egress: z.array(podPolicySchema),
});
export type NetworkPolicies = z.infer<typeof networkPoliciesSchema>;

export const NO_POLICIES: NetworkPolicies = { ingress: [], egress: [] };

export interface Connection {
  source: string;
  destination: string;
  port: number;
  protocol: "TCP" | "UDP";
}

/** Whether one entry admits a peer address on a port. */
export function allowMatches(a: PolicyAllow, peer: string, port: number, protocol: "TCP" | "UDP"): boolean {
  if (!contains(a.cidr, peer) || a.except.some((e) => contains(e, peer))) return false;
  if (a.ports === null) return true;
  return a.ports.some(
    (p) =>
      p.protocol === protocol && (p.port === undefined || (port >= p.port && port <= (p.endPort ?? p.port))),
  );
}

/**
 * Whether a new connection is allowed: by the source pod's egress policies (if any select it) and
 * by the destination pod's ingress policies (if any select it). The service proxy asks this for
 * each (client, endpoint) before dialling; the firewall's rules are made from the same entries.
 */
export function policyAllows(policies: NetworkPolicies, c: Connection): boolean {
  const out = policies.egress.find((p) => p.ip === c.source);
  if (out && !out.allow.some((a) => allowMatches(a, c.destination, c.port, c.protocol))) return false;
  const into = policies.ingress.find((p) => p.ip === c.destination);
  if (into && !into.allow.some((a) => allowMatches(a, c.source, c.port, c.protocol))) return false;
  return true;
}

const toInt = (ip: string) => ip.split(".").reduce((n, p) => (n << 8) | Number(p), 0) >>> 0;
const toIp = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");

function parse(cidr: string): Block {
  const [ip = "", b = "32"] = cidr.split("/");
  const bits = Number(b);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return { base: (toInt(ip) & mask) >>> 0, bits };
}

/**
 * A CIDR without its exceptions, as disjoint CIDRs (what a firewall without negation can match):
 * `10.0.0.0/8` except `10.1.0.0/16` is the 8 blocks around it.
 */
export function cidrMinus(cidr: string, except: readonly string[]): string[] {
  let blocks = [parse(cidr)];
  for (const e of except.map(parse)) {
    const next: Block[] = [];
    for (const b of blocks) next.push(...subtract(b, e));
    blocks = next;
  }
  return blocks.map((b) => `${toIp(b.base)}/${b.bits}`);
}

type Block = { base: number; bits: number };

/** Whether block x lies within block y. */
const within = (x: Block, y: Block) =>
  x.bits >= y.bits && (y.bits === 0 || x.base >>> (32 - y.bits) === y.base >>> (32 - y.bits));

const contains = (cidr: string, ip: string) =>
  /^\d+\.\d+\.\d+\.\d+$/.test(ip) && within(parse(`${ip}/32`), parse(cidr));

function subtract(a: Block, e: Block): Block[] {
  if (within(a, e)) return [];
  if (!within(e, a)) return [a];
  // e is strictly inside a: split a in halves and keep the half without e whole.
  const bits = a.bits + 1;
  const half = 2 ** (32 - bits);
  const lo = { base: a.base, bits };
  const hi = { base: (a.base + half) >>> 0, bits };
  return within(e, lo) ? [...subtract(lo, e), hi] : [lo, ...subtract(hi, e)];
}
