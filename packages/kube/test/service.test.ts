import { ValidationError } from "@berth/core";
import { serviceEnv } from "@berth/protocol";
import { describe, expect, it } from "vitest";
import {
  clusterDnsAddress,
  type EndpointPod,
  endpointSlicesOf,
  freeServiceAddress,
  isServiceAddress,
  kindOf,
  normaliseService,
  parseManifest,
  renderPodSpec,
  renderServiceSpec,
  type ServiceSpec,
  serviceRangeOfBlock,
} from "../src/index";
import { admit as admitDeployment, refusal as podRefusal } from "./support";

const service = (spec: Record<string, unknown>, name = "web") => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name },
  spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }], ...spec },
});

function admit(spec: Record<string, unknown>, name = "web"): ServiceSpec {
  const doc = service(spec, name);
  const kind = kindOf(doc.apiVersion, doc.kind);
  if (!kind) throw new Error("no Service kind");
  return kind.normalise(parseManifest(kind.schema, doc), name) as ServiceSpec;
}

function refusal(spec: Record<string, unknown>, name = "web"): { path: string; message: string } {
  try {
    admit(spec, name);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    const first = (e.details as { issues: { path: string; message: string }[] }).issues[0];
    if (!first) throw new Error("no issue");
    return first;
  }
  throw new Error("admitted");
}

describe("Service admission", () => {
  it("defaults as Kubernetes does and renders back to what it admits", () => {
    const s = admit({ ports: [{ name: "http", port: 80, targetPort: "http" }] });
    expect(s).toMatchObject({
      type: "ClusterIP",
      clusterIP: "",
      sessionAffinity: "None",
      internalTrafficPolicy: "Cluster",
      ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: "http" }],
    });
    expect(admit({ ports: [{ port: 443 }] }).ports[0]?.targetPort).toBe(443);
    const rendered = renderServiceSpec({ ...s, clusterIP: "100.64.0.1" });
    expect(rendered).toMatchObject({ clusterIPs: ["100.64.0.1"], ipFamilies: ["IPv4"] });
    const again = normaliseService(
      parseManifest(kindOf("v1", "Service")?.schema as never, { spec: rendered }),
      "web",
    );
    expect(again).toEqual({ ...s, clusterIP: "100.64.0.1" });
  });

  it("refuses two ports with the same port and protocol, naming the second", () => {
    expect(
      refusal({
        ports: [
          { name: "a", port: 80 },
          { name: "b", port: 80, targetPort: 9090 },
        ],
      }),
    ).toMatchObject({ path: "spec.ports[1]", message: expect.stringContaining("Duplicate value") });
  });

  it("refuses duplicate port names and unnamed ports when there are several", () => {
    expect(
      refusal({
        ports: [
          { name: "a", port: 80 },
          { name: "a", port: 81 },
        ],
      }).path,
    ).toBe("spec.ports[1].name");
    expect(refusal({ ports: [{ name: "a", port: 80 }, { port: 81 }] })).toMatchObject({
      path: "spec.ports[1].name",
      message: expect.stringContaining("Required value"),
    });
  });

  it("refuses bad names: the service's (DNS-1035), a port's, a named targetPort's", () => {
    expect(refusal({}, "1web").path).toBe("metadata.name");
    expect(() => admit({ ports: [{ name: "HTTP", port: 80 }] })).toThrow(/spec\.ports\[0\]\.name/);
    expect(() => admit({ ports: [{ port: 80, targetPort: "no_such--name" }] })).toThrow(
      /spec\.ports\[0\]\.targetPort/,
    );
    expect(() => admit({ ports: [{ port: 70000 }] })).toThrow(/spec\.ports\[0\]\.port/);
  });

  it("accepts NodePort and LoadBalancer but checks their node ports", () => {
    expect(admit({ type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] }).ports[0]?.nodePort).toBe(
      30080,
    );
    expect(admit({ type: "LoadBalancer" }).externalTrafficPolicy).toBe("Cluster");
    expect(refusal({ type: "NodePort", ports: [{ port: 80, nodePort: 80 }] }).path).toBe(
      "spec.ports[0].nodePort",
    );
    expect(refusal({ ports: [{ port: 80, nodePort: 30080 }] })).toMatchObject({
      path: "spec.ports[0].nodePort",
      message: expect.stringContaining("ClusterIP"),
    });
    expect(() => admit({ type: "ExternalName" })).toThrow(/spec\.type/);
  });

  it("admits UDP ports, TCP and UDP on one port number, and refuses SCTP and UDP on a LoadBalancer", () => {
    const dns = admit({
      ports: [
        { name: "dns", port: 53, protocol: "UDP" },
        { name: "dns-tcp", port: 53, protocol: "TCP" },
      ],
    });
    expect(dns.ports.map((p) => `${p.port}/${p.protocol}`)).toEqual(["53/UDP", "53/TCP"]);
    expect(admit({ type: "NodePort", ports: [{ port: 53, protocol: "UDP" }] }).ports[0]?.protocol).toBe(
      "UDP",
    );
    expect(refusal({ ports: [{ port: 9, protocol: "SCTP" }] })).toMatchObject({
      path: "spec.ports[0].protocol",
      message: expect.stringContaining('Unsupported value: "SCTP"'),
    });
    expect(refusal({ type: "LoadBalancer", ports: [{ port: 53, protocol: "UDP" }] })).toMatchObject({
      path: "spec.ports[0].protocol",
      message: expect.stringContaining("TCP only"),
    });
    expect(
      refusal({
        ports: [
          { name: "a", port: 53, protocol: "UDP" },
          { name: "b", port: 53, protocol: "UDP" },
        ],
      }).path,
    ).toBe("spec.ports[1]");
  });

  it("admits headless services (clusterIP or clusterIPs None, ports optional) only as ClusterIP", () => {
    expect(admit({ clusterIP: "None" }).clusterIP).toBe("None");
    expect(admit({ clusterIPs: ["None"], ports: [] })).toMatchObject({ clusterIP: "None", ports: [] });
    expect(admit({ clusterIP: "None", publishNotReadyAddresses: true }).publishNotReadyAddresses).toBe(true);
    expect(renderServiceSpec(admit({ clusterIP: "None" }))).toMatchObject({
      clusterIP: "None",
      clusterIPs: ["None"],
    });
    expect(refusal({ ports: [] })).toEqual({ path: "spec.ports", message: "Required value" });
    expect(refusal({ type: "NodePort", clusterIP: "None" })).toEqual({
      path: "spec.clusterIP",
      message: `Invalid value: "None": may not be set to 'None' for NodePort services`,
    });
    expect(refusal({ type: "LoadBalancer", clusterIPs: ["None"] }).path).toBe("spec.clusterIPs[0]");
    expect(refusal({ clusterIP: "10.0.0.300" }).path).toBe("spec.clusterIP");
  });

  it("keeps ClientIP affinity's timeout (3 hours by default) and refuses a config without ClientIP", () => {
    expect(admit({ sessionAffinity: "ClientIP" }).sessionAffinityTimeoutSeconds).toBe(10_800);
    expect(
      admit({ sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } })
        .sessionAffinityTimeoutSeconds,
    ).toBe(60);
    expect(refusal({ sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }).path).toBe(
      "spec.sessionAffinityConfig",
    );
    expect(() => admit({ sessionAffinity: "Sticky" })).toThrow(/spec\.sessionAffinity/);
  });
});

describe("service ranges", () => {
  it("gives each block its own /24 of 100.64.0.0/10, with .10 for DNS", () => {
    expect(serviceRangeOfBlock(0)).toBe("100.64.0.0/24");
    expect(serviceRangeOfBlock(257)).toBe("100.65.1.0/24");
    expect(serviceRangeOfBlock(16_383)).toBe("100.127.255.0/24");
    expect(clusterDnsAddress("100.65.1.0/24")).toBe("100.65.1.10");
    expect(isServiceAddress("100.65.1.0/24", "100.65.1.10")).toBe(false);
    expect(isServiceAddress("100.65.1.0/24", "100.65.2.1")).toBe(false);
    expect(freeServiceAddress("100.65.1.0/24", new Set(["100.65.1.1"]))).toBe("100.65.1.2");
    const all = new Set<string>();
    for (let i = 1; i <= 254; i++) all.add(`100.65.1.${i}`);
    expect(freeServiceAddress("100.65.1.0/24", all)).toBeUndefined();
  });
});

const pod = (name: string, more: Partial<EndpointPod> = {}): EndpointPod => ({
  uid: `pod_${name}`,
  name,
  namespace: "default",
  labels: { app: "web" },
  podIP: `10.89.0.${name.length + 1}`,
  nodeName: "n1",
  ready: true,
  terminating: false,
  namedPorts: { http: 8080 },
  containerPorts: [{ port: 8080, protocol: "TCP" }],
  ...more,
});

describe("endpoints", () => {
  const spec = admit({ ports: [{ name: "http", port: 80, targetPort: "http" }] });

  it("hold only ready, not terminating pods with an address that the selector matches", () => {
    const slices = endpointSlicesOf("web", spec, [
      pod("a"),
      pod("bb", { ready: false }),
      pod("ccc", { terminating: true }),
      pod("dddd", { podIP: null }),
      pod("eeeee", { labels: { app: "api" } }),
    ]);
    expect(slices).toHaveLength(1);
    expect(slices[0]?.ports).toEqual([{ name: "http", port: 8080, protocol: "TCP" }]);
    expect(slices[0]?.endpoints.map((e) => e.targetRef.name)).toEqual(["a"]);
  });

  it("split pods whose named port resolves differently, and leave out pods that do not name it", () => {
    const slices = endpointSlicesOf("web", spec, [
      pod("a"),
      pod("b", { namedPorts: { http: 9090 } }),
      pod("c", { namedPorts: {} }),
    ]);
    expect(slices.map((s) => s.ports[0]?.port).sort()).toEqual([8080, 9090]);
    expect(slices.flatMap((s) => s.endpoints.map((e) => e.targetRef.name)).sort()).toEqual(["a", "b"]);
  });

  it("are one empty slice when no pod is ready, and nothing without a selector", () => {
    expect(endpointSlicesOf("web", spec, [pod("a", { ready: false })])).toEqual([
      { name: expect.stringMatching(/^web-[0-9a-f]{5}$/), ports: [], endpoints: [] },
    ]);
    const { selector: _s, ...noSelector } = spec;
    expect(endpointSlicesOf("web", noSelector, [pod("a")])).toEqual([]);
  });

  it("keep pods that are not ready with publishNotReadyAddresses (ready, not serving), never terminating ones", () => {
    const all = admit({
      clusterIP: "None",
      publishNotReadyAddresses: true,
      ports: [{ port: 80, protocol: "UDP" }],
    });
    const slices = endpointSlicesOf("web", all, [
      pod("a"),
      pod("bb", { ready: false }),
      pod("ccc", { terminating: true }),
    ]);
    expect(slices[0]?.ports).toEqual([{ name: "", port: 80, protocol: "UDP" }]);
    expect(slices[0]?.endpoints.map((e) => [e.targetRef.name, e.conditions])).toEqual([
      ["a", { ready: true, serving: true, terminating: false }],
      ["bb", { ready: true, serving: false, terminating: false }],
    ]);
  });

  it("of a headless service without ports are its pods' addresses, named by hostname under their subdomain", () => {
    const headless = admit({ clusterIP: "None", ports: [] });
    const slices = endpointSlicesOf("web", headless, [
      pod("a", { hostname: "web-0", subdomain: "web" }),
      pod("bb", { hostname: "other-0", subdomain: "other" }),
    ]);
    expect(slices).toHaveLength(1);
    expect(slices[0]?.endpoints.map((e) => [e.addresses[0], e.hostname])).toEqual([
      ["10.89.0.2", "web-0"],
      ["10.89.0.3", undefined],
    ]);
  });
});

describe("service environment variables", () => {
  it("are Kubernetes' names for the services of the pod's namespace only", () => {
    const env = serviceEnv(
      [
        {
          namespace: "default",
          name: "web-api",
          clusterIP: "100.64.0.1",
          sessionAffinity: "None",
          affinityTimeoutSeconds: 0,
          ports: [
            { name: "http", port: 80, protocol: "TCP", endpoints: [] },
            { name: "admin", port: 9000, protocol: "TCP", endpoints: [] },
          ],
        },
        {
          namespace: "default",
          name: "peers",
          clusterIP: "None",
          sessionAffinity: "None",
          affinityTimeoutSeconds: 0,
          ports: [{ name: "", port: 7000, protocol: "TCP", endpoints: [] }],
        },
        {
          namespace: "default",
          name: "dns",
          clusterIP: "100.64.0.3",
          sessionAffinity: "None",
          affinityTimeoutSeconds: 0,
          ports: [{ name: "", port: 53, protocol: "UDP", endpoints: [] }],
        },
        {
          namespace: "other",
          name: "db",
          clusterIP: "100.64.0.2",
          sessionAffinity: "None",
          affinityTimeoutSeconds: 0,
          ports: [{ name: "", port: 5432, protocol: "TCP", endpoints: [] }],
        },
      ],
      "default",
    );
    expect(env).toEqual({
      // No variable for a headless service (kubelet skips services without a clusterIP); UDP says so.
      DNS_SERVICE_HOST: "100.64.0.3",
      DNS_SERVICE_PORT: "53",
      DNS_PORT: "udp://100.64.0.3:53",
      DNS_PORT_53_UDP: "udp://100.64.0.3:53",
      DNS_PORT_53_UDP_PROTO: "udp",
      DNS_PORT_53_UDP_PORT: "53",
      DNS_PORT_53_UDP_ADDR: "100.64.0.3",
      WEB_API_SERVICE_HOST: "100.64.0.1",
      WEB_API_SERVICE_PORT: "80",
      WEB_API_SERVICE_PORT_HTTP: "80",
      WEB_API_SERVICE_PORT_ADMIN: "9000",
      WEB_API_PORT: "tcp://100.64.0.1:80",
      WEB_API_PORT_80_TCP: "tcp://100.64.0.1:80",
      WEB_API_PORT_80_TCP_PROTO: "tcp",
      WEB_API_PORT_80_TCP_PORT: "80",
      WEB_API_PORT_80_TCP_ADDR: "100.64.0.1",
      WEB_API_PORT_9000_TCP: "tcp://100.64.0.1:9000",
      WEB_API_PORT_9000_TCP_PROTO: "tcp",
      WEB_API_PORT_9000_TCP_PORT: "9000",
      WEB_API_PORT_9000_TCP_ADDR: "100.64.0.1",
    });
  });
});

describe("a pod's hostname and subdomain", () => {
  it("are kept and rendered (its DNS name under a headless Service), and must be DNS labels", () => {
    const d = admitDeployment({ hostname: "db-0", subdomain: "db" });
    expect(d.template).toMatchObject({ hostname: "db-0", subdomain: "db" });
    expect(renderPodSpec(d.template)).toMatchObject({ hostname: "db-0", subdomain: "db" });
    expect(admitDeployment({}).template).not.toHaveProperty("hostname");
    expect(podRefusal({ hostname: "Db_0" }).path).toBe("spec.template.spec.hostname");
    expect(podRefusal({ subdomain: "a.b" }).path).toBe("spec.template.spec.subdomain");
  });
});
