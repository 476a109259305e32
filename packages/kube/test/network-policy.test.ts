import { ValidationError } from "@berth/core";
import { type NetworkPolicies, policyAllows } from "@berth/protocol";
import { describe, expect, it } from "vitest";
import {
  kindOf,
  type NetworkPolicySpec,
  normaliseNetworkPolicy,
  type PolicyPod,
  parseManifest,
  renderNetworkPolicySpec,
  resolveNetworkPolicies,
} from "../src/index";
import { firstIssue } from "./support";

const policy = (spec: Record<string, unknown>) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "p" },
  spec,
});

function admit(spec: Record<string, unknown>): NetworkPolicySpec {
  const doc = policy(spec);
  const kind = kindOf(doc.apiVersion, doc.kind);
  if (!kind) throw new Error("no NetworkPolicy kind");
  return kind.normalise(parseManifest(kind.schema, doc), "p") as NetworkPolicySpec;
}

const refusal = (spec: Record<string, unknown>) => firstIssue(() => admit(spec));

// The Kubernetes documentation's examples, as users write them.
const denyAllIngress = { podSelector: {}, policyTypes: ["Ingress"] };
const denyAllEgress = { podSelector: {}, policyTypes: ["Egress"] };
const allowAllIngress = { podSelector: {}, ingress: [{}], policyTypes: ["Ingress"] };
const apiAllow = {
  podSelector: { matchLabels: { app: "bookstore", role: "api" } },
  ingress: [{ from: [{ podSelector: { matchLabels: { app: "bookstore" } } }] }],
};
const testNetworkPolicy = {
  podSelector: { matchLabels: { role: "db" } },
  policyTypes: ["Ingress", "Egress"],
  ingress: [
    {
      from: [
        { ipBlock: { cidr: "172.17.0.0/16", except: ["172.17.1.0/24"] } },
        { namespaceSelector: { matchLabels: { project: "myproject" } } },
        { podSelector: { matchLabels: { role: "frontend" } } },
      ],
      ports: [{ protocol: "TCP", port: 6379 }],
    },
  ],
  egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/24" } }], ports: [{ protocol: "TCP", port: 5978 }] }],
};

describe("NetworkPolicy admission", () => {
  it("admits the documentation's examples and defaults policyTypes as Kubernetes does", () => {
    expect(admit(denyAllIngress).policyTypes).toEqual(["Ingress"]);
    expect(admit(denyAllEgress).policyTypes).toEqual(["Egress"]);
    expect(admit(allowAllIngress).ingress).toEqual([{}]);
    expect(admit(apiAllow).policyTypes).toEqual(["Ingress"]);
    expect(admit({ podSelector: {}, egress: [{}] }).policyTypes).toEqual(["Ingress", "Egress"]);
    // An empty egress list is no egress rule: Ingress only.
    expect(admit({ podSelector: {}, egress: [] }).policyTypes).toEqual(["Ingress"]);
    const full = admit(testNetworkPolicy);
    expect(full.ingress[0]?.ports).toEqual([{ protocol: "TCP", port: 6379 }]);
    expect(full.ingress[0]?.peers?.[0]).toEqual({
      ipBlock: { cidr: "172.17.0.0/16", except: ["172.17.1.0/24"] },
    });
    // The protocol defaults to TCP; ranges and UDP (the cluster DNS) are kept.
    const ports = admit({
      podSelector: {},
      egress: [{ ports: [{ port: 32000, endPort: 32768 }, { protocol: "UDP", port: 53 }, { port: "http" }] }],
    }).egress[0]?.ports;
    expect(ports).toEqual([
      { protocol: "TCP", port: 32000, endPort: 32768 },
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: "http" },
    ]);
  });

  it("renders what it admits, and admits what it renders unchanged", () => {
    const s = admit(testNetworkPolicy);
    const rendered = renderNetworkPolicySpec(s);
    expect(rendered).toEqual(testNetworkPolicy);
    expect(admit(rendered)).toEqual(s);
    expect(renderNetworkPolicySpec(admit(denyAllIngress))).toEqual({
      podSelector: {},
      policyTypes: ["Ingress"],
    });
    expect(normaliseNetworkPolicy({ spec: { podSelector: {} } })).toEqual({
      podSelector: {},
      policyTypes: ["Ingress"],
      ingress: [],
      egress: [],
    });
  });

  it.each([
    [
      "ipBlock with a selector",
      { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8" }, podSelector: {} }] }] },
      "spec.ingress[0].from[0]",
      /may not specify both ipBlock and another peer/,
    ],
    [
      "an empty peer",
      { podSelector: {}, egress: [{ to: [{}] }] },
      "spec.egress[0].to[0]",
      /must specify a peer/,
    ],
    [
      "except outside cidr",
      {
        podSelector: {},
        ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/16", except: ["10.1.0.0/24"] } }] }],
      },
      "spec.ingress[0].from[0].ipBlock.except[0]",
      /strict subset of `cidr`/,
    ],
    [
      "except equal to cidr",
      {
        podSelector: {},
        ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/16", except: ["10.0.0.0/16"] } }] }],
      },
      "spec.ingress[0].from[0].ipBlock.except[0]",
      /strict subset/,
    ],
    [
      "a bad cidr",
      { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.300/16" } }] }] },
      "spec.ingress[0].from[0].ipBlock.cidr",
      /valid CIDR/,
    ],
    [
      "an IPv6 cidr",
      { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "fd00::/8" } }] }] },
      "spec.ingress[0].from[0].ipBlock.cidr",
      /only IPv4/,
    ],
    [
      "endPort below port",
      { podSelector: {}, ingress: [{ ports: [{ port: 9000, endPort: 8000 }] }] },
      "spec.ingress[0].ports[0].endPort",
      /greater than or equal to `port`/,
    ],
    [
      "endPort with a named port",
      { podSelector: {}, ingress: [{ ports: [{ port: "http", endPort: 8000 }] }] },
      "spec.ingress[0].ports[0].endPort",
      /non-numeric/,
    ],
    [
      "endPort without port",
      { podSelector: {}, ingress: [{ ports: [{ endPort: 8000 }] }] },
      "spec.ingress[0].ports[0].endPort",
      /`port` is not specified/,
    ],
    [
      "SCTP",
      { podSelector: {}, ingress: [{ ports: [{ protocol: "SCTP", port: 9 }] }] },
      "spec.ingress[0].ports[0].protocol",
      /SCTP/,
    ],
    [
      "port 0",
      { podSelector: {}, egress: [{ ports: [{ port: 0 }] }] },
      "spec.egress[0].ports[0].port",
      /between 1 and 65535/,
    ],
    [
      "a bad port name",
      { podSelector: {}, egress: [{ ports: [{ port: "Not_A_Name" }] }] },
      "spec.egress[0].ports[0].port",
      /IANA_SVC_NAME/,
    ],
    [
      "an unknown policy type",
      { podSelector: {}, policyTypes: ["Both"] },
      "spec.policyTypes[0]",
      /Unsupported value/,
    ],
    [
      "a duplicate policy type",
      { podSelector: {}, policyTypes: ["Ingress", "Ingress"] },
      "spec.policyTypes[1]",
      /Duplicate/,
    ],
  ])("refuses %s, naming the field", (_what, spec, path, message) => {
    const issue = refusal(spec);
    expect(issue.path).toBe(path);
    expect(issue.message).toMatch(message);
  });

  it("refuses selectors as Kubernetes does (values per operator), naming the field", () => {
    const issue = refusal({ podSelector: { matchExpressions: [{ key: "app", operator: "In" }] } });
    expect(issue.path).toMatch(/^spec\.podSelector\.matchExpressions\.?\[?0\]?\.values$/);
    expect(() =>
      admit({
        podSelector: {},
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { "bad key!": "x" } } }] }],
      }),
    ).toThrow(ValidationError);
  });
});

const pod = (namespace: string, ip: string, labels: Record<string, string>, namedPorts = {}): PolicyPod => ({
  namespace,
  labels,
  podIP: ip,
  namedPorts,
});
const namespaces = {
  default: { "kubernetes.io/metadata.name": "default" },
  prod: { "kubernetes.io/metadata.name": "prod", project: "myproject" },
  dev: { "kubernetes.io/metadata.name": "dev" },
  "kube-system": { "kubernetes.io/metadata.name": "kube-system" },
};
const web = pod("default", "10.89.0.2", { app: "web" }, { http: 8080 });
const client = pod("default", "10.89.0.3", { role: "client" });
const other = pod("default", "10.89.0.4", {});
const prodClient = pod("prod", "10.89.0.5", { role: "client" });
const devClient = pod("dev", "10.89.0.6", { role: "client" });
const pods = [web, client, other, prodClient, devClient];

function resolve(specs: Record<string, unknown>[], namespace = "default"): NetworkPolicies {
  return resolveNetworkPolicies({
    policies: specs.map((s) => ({ namespace, spec: admit(s) })),
    pods,
    namespaces,
    peersOnly: [pod("kube-system", "100.64.0.10", { "k8s-app": "kube-dns" }, { dns: 53 })],
  });
}
const can = (
  p: NetworkPolicies,
  from: PolicyPod | string,
  to: PolicyPod | string,
  port: number,
  protocol: "TCP" | "UDP" = "TCP",
) =>
  policyAllows(p, {
    source: typeof from === "string" ? from : (from.podIP as string),
    destination: typeof to === "string" ? to : (to.podIP as string),
    port,
    protocol,
  });

describe("NetworkPolicy semantics, resolved to addresses", () => {
  it("allows everything when no policy selects a pod", () => {
    const p = resolve([]);
    expect(p).toEqual({ ingress: [], egress: [] });
    expect(can(p, client, web, 8080)).toBe(true);
  });

  it("a deny-all ingress blocks every new connection to the selected pods, not from them", () => {
    const p = resolve([{ podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Ingress"] }]);
    expect(can(p, client, web, 8080)).toBe(false);
    expect(can(p, "192.0.2.9", web, 8080)).toBe(false);
    expect(can(p, web, client, 80)).toBe(true);
    expect(can(p, client, other, 80)).toBe(true);
  });

  it("policies add up: a deny-all and an allow of role=client on a named port", () => {
    const p = resolve([
      { podSelector: {}, policyTypes: ["Ingress"] },
      {
        podSelector: { matchLabels: { app: "web" } },
        ingress: [
          { from: [{ podSelector: { matchLabels: { role: "client" } } }], ports: [{ port: "http" }] },
        ],
      },
    ]);
    expect(can(p, client, web, 8080)).toBe(true);
    expect(can(p, client, web, 9090)).toBe(false);
    expect(can(p, other, web, 8080)).toBe(false);
    // A podSelector alone is the policy's namespace only.
    expect(can(p, prodClient, web, 8080)).toBe(false);
    expect(can(p, web, client, 80)).toBe(false);
  });

  it("namespaceSelector alone, and together with podSelector (AND), by labels and kubernetes.io/metadata.name", () => {
    const byProject = resolve([
      {
        podSelector: { matchLabels: { app: "web" } },
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { project: "myproject" } } }] }],
      },
    ]);
    expect(can(byProject, prodClient, web, 8080)).toBe(true);
    expect(can(byProject, devClient, web, 8080)).toBe(false);
    expect(can(byProject, client, web, 8080)).toBe(false);
    const both = resolve([
      {
        podSelector: { matchLabels: { app: "web" } },
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "dev" } },
                podSelector: { matchLabels: { role: "client" } },
              },
            ],
          },
        ],
      },
    ]);
    expect(can(both, devClient, web, 8080)).toBe(true);
    expect(can(both, prodClient, web, 8080)).toBe(false);
    expect(can(both, client, web, 8080)).toBe(false);
    // Two peers are OR: every namespace's pods plus the default namespace's role=client.
    const everyNamespace = resolve([
      { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ namespaceSelector: {} }] }] },
    ]);
    expect(can(everyNamespace, devClient, web, 8080)).toBe(true);
    expect(can(everyNamespace, "192.0.2.9", web, 8080)).toBe(false);
  });

  it("ipBlock with except, and port ranges", () => {
    const p = resolve([
      {
        podSelector: { matchLabels: { app: "web" } },
        ingress: [
          {
            from: [{ ipBlock: { cidr: "192.0.2.0/24", except: ["192.0.2.128/25"] } }],
            ports: [{ port: 8000, endPort: 8080 }],
          },
        ],
      },
    ]);
    expect(can(p, "192.0.2.9", web, 8080)).toBe(true);
    expect(can(p, "192.0.2.9", web, 8000)).toBe(true);
    expect(can(p, "192.0.2.9", web, 8081)).toBe(false);
    expect(can(p, "192.0.2.200", web, 8080)).toBe(false);
    expect(can(p, "198.51.100.1", web, 8080)).toBe(false);
    expect(can(p, "192.0.2.9", web, 8080, "UDP")).toBe(false);
  });

  it("egress: deny-all blocks calls and DNS; the documented DNS allow opens the cluster DNS on UDP 53 only", () => {
    const deny = resolve([{ podSelector: { matchLabels: { role: "client" } }, policyTypes: ["Egress"] }]);
    expect(can(deny, client, web, 8080)).toBe(false);
    expect(can(deny, client, "100.64.0.10", 53, "UDP")).toBe(false);
    expect(can(deny, web, client, 80)).toBe(true);
    const dns = resolve([
      { podSelector: { matchLabels: { role: "client" } }, policyTypes: ["Egress"] },
      {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
                podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
              },
            ],
            ports: [
              { protocol: "UDP", port: 53 },
              { protocol: "TCP", port: 53 },
            ],
          },
        ],
      },
    ]);
    expect(can(dns, client, "100.64.0.10", 53, "UDP")).toBe(true);
    expect(can(dns, client, "100.64.0.10", 54, "UDP")).toBe(false);
    expect(can(dns, client, web, 8080)).toBe(false);
    // Egress to a named port is the destination pod's port of that name.
    const named = resolve([
      { podSelector: { matchLabels: { role: "client" } }, egress: [{ ports: [{ port: "http" }] }] },
    ]);
    expect(can(named, client, web, 8080)).toBe(true);
    expect(can(named, client, other, 8080)).toBe(false);
    // Both sides must allow: the client's egress and the web pod's ingress.
    const both = resolve([
      { podSelector: { matchLabels: { role: "client" } }, egress: [{}], policyTypes: ["Egress"] },
      { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Ingress"] },
    ]);
    expect(can(both, client, web, 8080)).toBe(false);
    expect(can(both, client, other, 8080)).toBe(true);
  });
});
