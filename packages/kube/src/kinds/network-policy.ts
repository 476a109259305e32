import { z } from "zod";
import { objectMetaSchema } from "../meta";
import { podLabelSelectorSchema } from "../pod/affinity";
import { ignored, invalid, type LabelSelector } from "./common";

/**
 * networking.k8s.io/v1 NetworkPolicy, checked as Kubernetes' ValidateNetworkPolicy checks it
 * (same field paths and messages) and defaulted as its API server defaults it. TCP and UDP are
 * enforced (the node's firewall matches both; the cluster DNS is UDP); SCTP is refused, as Berth
 * carries no SCTP. Only IPv4 addresses: pods and services have no other.
 */
const portNumber = z.number().int();

const policyPortSchema = z
  .object({
    protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
    port: z.union([portNumber, z.string().max(63)]).optional(),
    endPort: portNumber.optional(),
  })
  .strict();

const ipBlockSchema = z
  .object({
    cidr: z.string().max(64),
    except: z.array(z.string().max(64)).max(64).optional(),
  })
  .strict();

const peerSchema = z
  .object({
    podSelector: podLabelSelectorSchema.optional(),
    namespaceSelector: podLabelSelectorSchema.optional(),
    ipBlock: ipBlockSchema.optional(),
  })
  .strict();

const ingressRuleSchema = z
  .object({
    ports: z.array(policyPortSchema).max(100).optional(),
    from: z.array(peerSchema).max(100).optional(),
  })
  .strict();

const egressRuleSchema = z
  .object({
    ports: z.array(policyPortSchema).max(100).optional(),
    to: z.array(peerSchema).max(100).optional(),
  })
  .strict();

export const networkPolicySchema = z
  .object({
    apiVersion: z.literal("networking.k8s.io/v1").optional(),
    kind: z.literal("NetworkPolicy").optional(),
    metadata: objectMetaSchema.optional(),
    spec: z
      .object({
        podSelector: podLabelSelectorSchema,
        ingress: z.array(ingressRuleSchema).max(100).optional(),
        egress: z.array(egressRuleSchema).max(100).optional(),
        policyTypes: z.array(z.string().max(16)).max(2).optional(),
      })
      .strict(),
    status: ignored,
  })
  .strict();
export type NetworkPolicyInput = z.infer<typeof networkPolicySchema>;

export type PolicyType = "Ingress" | "Egress";

export interface NetworkPolicyPort {
  protocol: "TCP" | "UDP";
  /** Absent: every port of the protocol; a string: a named container port of the pod it goes to. */
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except: string[] };
}

/** One rule: `peers` absent means every peer, `ports` absent every port (Kubernetes' empty lists). */
export interface NetworkPolicyRule {
  peers?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes: PolicyType[];
  ingress: NetworkPolicyRule[];
  egress: NetworkPolicyRule[];
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** Kubernetes' IANA_SVC_NAME: what a named port may be. */
const SVC_NAME = /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

const ipToInt = (ip: string) => ip.split(".").reduce((n, p) => (n << 8) | Number(p), 0) >>> 0;

/** A CIDR as Kubernetes' ParseCIDR takes it (`10.0.0.0/8`, host bits allowed); IPv6 is refused by name. */
function parseCidr(at: string, text: string): { base: number; bits: number } {
  const [ip = "", bits, ...rest] = text.split("/");
  if (ip.includes(":")) invalid(at, `Invalid value: ${JSON.stringify(text)}: only IPv4 is served`);
  const n = Number(bits);
  if (rest.length > 0 || !IPV4.test(ip) || !/^\d{1,2}$/.test(bits ?? "") || n > 32)
    invalid(at, `Invalid value: ${JSON.stringify(text)}: must be a valid CIDR value, (e.g. 10.9.8.0/24)`);
  const mask = n === 0 ? 0 : (~0 << (32 - n)) >>> 0;
  return { base: (ipToInt(ip) & mask) >>> 0, bits: n };
}

function normalisePort(p: z.infer<typeof policyPortSchema>, at: string): NetworkPolicyPort {
  const protocol = p.protocol ?? "TCP";
  if (protocol === "SCTP")
    invalid(`${at}.protocol`, 'Unsupported value: "SCTP": Berth carries TCP and UDP only');
  if (typeof p.port === "number" && (p.port < 1 || p.port > 65535))
    invalid(`${at}.port`, `Invalid value: ${p.port}: must be between 1 and 65535, inclusive`);
  if (
    typeof p.port === "string" &&
    (!SVC_NAME.test(p.port) || p.port.includes("--") || !/[a-z]/.test(p.port))
  )
    invalid(
      `${at}.port`,
      `Invalid value: ${JSON.stringify(p.port)}: must be an IANA_SVC_NAME (at most 15 characters, matching regex [a-z0-9]([a-z0-9-]*[a-z0-9])*, at least one letter, no '--')`,
    );
  if (p.endPort !== undefined) {
    if (p.port === undefined)
      invalid(`${at}.endPort`, "Required value: may not be specified when `port` is not specified");
    if (typeof p.port === "string")
      invalid(`${at}.endPort`, "Invalid value: may not be specified when `port` is non-numeric");
    if (p.endPort < 1 || p.endPort > 65535)
      invalid(`${at}.endPort`, `Invalid value: ${p.endPort}: must be between 1 and 65535, inclusive`);
    if (p.endPort < (p.port as number))
      invalid(`${at}.endPort`, `Invalid value: ${p.endPort}: must be greater than or equal to \`port\``);
  }
  return {
    protocol,
    ...(p.port !== undefined ? { port: p.port } : {}),
    ...(p.endPort !== undefined ? { endPort: p.endPort } : {}),
  };
}

function normalisePeer(p: z.infer<typeof peerSchema>, at: string): NetworkPolicyPeer {
  const kinds = [p.podSelector, p.namespaceSelector, p.ipBlock].filter((x) => x !== undefined).length;
  if (kinds === 0) invalid(at, "Required value: must specify a peer");
  if (kinds > 1 && p.ipBlock) invalid(at, "Forbidden: may not specify both ipBlock and another peer");
  if (!p.ipBlock)
    return {
      ...(p.podSelector ? { podSelector: p.podSelector } : {}),
      ...(p.namespaceSelector ? { namespaceSelector: p.namespaceSelector } : {}),
    };
  if (p.ipBlock.cidr === "") invalid(`${at}.ipBlock.cidr`, "Required value");
  const cidr = parseCidr(`${at}.ipBlock.cidr`, p.ipBlock.cidr);
  const except = p.ipBlock.except ?? [];
  except.forEach((e, i) => {
    const x = parseCidr(`${at}.ipBlock.except[${i}]`, e);
    const mask = cidr.bits === 0 ? 0 : (~0 << (32 - cidr.bits)) >>> 0;
    if (x.bits <= cidr.bits || (x.base & mask) >>> 0 !== cidr.base)
      invalid(
        `${at}.ipBlock.except[${i}]`,
        `Invalid value: ${JSON.stringify(e)}: must be a strict subset of \`cidr\``,
      );
  });
  return { ipBlock: { cidr: p.ipBlock.cidr, except } };
}

function normaliseRule(
  rule: { ports?: z.infer<typeof policyPortSchema>[] | undefined },
  peers: z.infer<typeof peerSchema>[] | undefined,
  at: string,
  peersField: "from" | "to",
): NetworkPolicyRule {
  return {
    ...(peers && peers.length > 0
      ? { peers: peers.map((p, i) => normalisePeer(p, `${at}.${peersField}[${i}]`)) }
      : {}),
    ...(rule.ports && rule.ports.length > 0
      ? { ports: rule.ports.map((p, i) => normalisePort(p, `${at}.ports[${i}]`)) }
      : {}),
  };
}

/** Admission of a NetworkPolicy: its rules checked, `policyTypes` defaulted as Kubernetes does. */
export function normaliseNetworkPolicy(n: NetworkPolicyInput): NetworkPolicySpec {
  const spec = n.spec;
  const types = spec.policyTypes ?? [];
  types.forEach((t, i) => {
    if (t !== "Ingress" && t !== "Egress")
      invalid(
        `spec.policyTypes[${i}]`,
        `Unsupported value: ${JSON.stringify(t)}: supported values: "Ingress", "Egress"`,
      );
    if (types.indexOf(t) !== i) invalid(`spec.policyTypes[${i}]`, `Duplicate value: ${JSON.stringify(t)}`);
  });
  const egress = spec.egress ?? [];
  const policyTypes: PolicyType[] =
    types.length > 0 ? (types as PolicyType[]) : egress.length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
  return {
    podSelector: spec.podSelector,
    policyTypes,
    ingress: (spec.ingress ?? []).map((r, i) => normaliseRule(r, r.from, `spec.ingress[${i}]`, "from")),
    egress: egress.map((r, i) => normaliseRule(r, r.to, `spec.egress[${i}]`, "to")),
  };
}

function renderRule(r: NetworkPolicyRule, peersField: "from" | "to"): Record<string, unknown> {
  return {
    ...(r.ports ? { ports: r.ports } : {}),
    ...(r.peers
      ? {
          [peersField]: r.peers.map((p) =>
            p.ipBlock && p.ipBlock.except.length === 0 ? { ipBlock: { cidr: p.ipBlock.cidr } } : p,
          ),
        }
      : {}),
  };
}

/** A NetworkPolicy's `spec` as Kubernetes shows it (defaulted `policyTypes`, ports' protocol). */
export function renderNetworkPolicySpec(s: NetworkPolicySpec): Record<string, unknown> {
  return {
    podSelector: s.podSelector,
    ...(s.ingress.length > 0 ? { ingress: s.ingress.map((r) => renderRule(r, "from")) } : {}),
    ...(s.egress.length > 0 ? { egress: s.egress.map((r) => renderRule(r, "to")) } : {}),
    policyTypes: s.policyTypes,
  };
}
