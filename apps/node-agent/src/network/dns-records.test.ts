import { createSocket } from "node:dgram";
import { Resolver } from "node:dns/promises";
import type { NetworkService, NetworkView } from "@berth/protocol";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DnsServer } from "./dns";
import { readQuestion, writeAnswer } from "./dns-message";
import { DNS_SCHEMA_VERSION, lookupName } from "./dns-records";

const endpoint = (ip: string, port: number, hostname?: string) => ({
  podId: `pod_${ip}`,
  ip,
  port,
  nodeName: "n1",
  ...(hostname ? { hostname } : {}),
});

const service = (name: string, more: Partial<NetworkService>): NetworkService => ({
  namespace: "default",
  name,
  clusterIP: "100.64.0.1",
  sessionAffinity: "None",
  affinityTimeoutSeconds: 0,
  ports: [],
  ...more,
});

const peers = [endpoint("10.89.0.5", 7000, "db-0"), endpoint("10.89.0.6", 7000), endpoint("10.89.0.7", 7000)];
const view: NetworkView = {
  version: "v1",
  serviceCidr: "100.64.0.0/24",
  dnsAddress: "100.64.0.10",
  clusterDomain: "cluster.local",
  services: [
    service("web", {
      ports: [
        { name: "http", port: 80, protocol: "TCP", endpoints: [endpoint("10.89.0.2", 8080)] },
        { name: "", port: 81, protocol: "TCP", endpoints: [] },
        { name: "dns", port: 53, protocol: "UDP", endpoints: [endpoint("10.89.0.3", 5353)] },
      ],
    }),
    service("db", {
      clusterIP: "None",
      ports: [{ name: "peer", port: 7000, protocol: "TCP", endpoints: peers }],
      addresses: peers.map(({ port: _, ...e }) => e),
    }),
    service("empty", { clusterIP: "None", ports: [{ name: "x", port: 1, protocol: "TCP", endpoints: [] }] }),
    service("noselector", { clusterIP: "None" }),
  ],
};

describe("the cluster DNS records (Kubernetes' DNS specification)", () => {
  const z = "default.svc.cluster.local";

  it("answers a ClusterIP service with its clusterIP, a headless one with every endpoint address", () => {
    expect(lookupName(view, `web.${z}`, "A")).toEqual({
      kind: "found",
      answers: [{ name: `web.${z}`, type: "A", address: "100.64.0.1" }],
    });
    const headless = lookupName(view, `db.${z}`, "A");
    expect(headless.kind === "found" && headless.answers.map((r) => r.type === "A" && r.address)).toEqual([
      "10.89.0.5",
      "10.89.0.6",
      "10.89.0.7",
    ]);
  });

  it("says NXDOMAIN for a headless service without endpoints or selector, unknown names and other namespaces", () => {
    for (const name of [
      `empty.${z}`,
      `noselector.${z}`,
      `nope.${z}`,
      "web.other.svc.cluster.local",
      "x.web.default.svc.cluster.local",
      "svc.cluster.local",
      `_http._udp.web.${z}`,
      `_x._tcp.empty.${z}`,
    ])
      expect(lookupName(view, name, "A"), name).toEqual({ kind: "missing" });
    expect(lookupName(view, "example.com", "A")).toEqual({ kind: "outside" });
  });

  it("has no data (NOERROR) for an existing name asked for another type", () => {
    expect(lookupName(view, `web.${z}`, "other")).toEqual({ kind: "found", answers: [] });
    expect(lookupName(view, `db.${z}`, "SRV")).toEqual({ kind: "found", answers: [] });
  });

  it("names each headless endpoint by its hostname, else its address with dashes", () => {
    expect(lookupName(view, `db-0.db.${z}`, "A")).toMatchObject({ answers: [{ address: "10.89.0.5" }] });
    expect(lookupName(view, `10-89-0-6.db.${z}`, "A")).toMatchObject({ answers: [{ address: "10.89.0.6" }] });
    expect(lookupName(view, `db-1.db.${z}`, "A")).toEqual({ kind: "missing" });
    expect(lookupName(view, "10-89-0-9.default.pod.cluster.local", "A")).toMatchObject({
      answers: [{ address: "10.89.0.9" }],
    });
  });
});

describe("the cluster DNS server, asked by a real resolver", () => {
  let server: DnsServer;
  const resolver = new Resolver({ timeout: 2_000, tries: 1 });
  beforeAll(async () => {
    const probe = createSocket("udp4");
    await new Promise<void>((ok) => probe.bind(0, "127.0.0.1", ok));
    const port = probe.address().port;
    probe.close();
    server = new DnsServer({
      address: "127.0.0.1",
      port,
      lookup: (name, type) => lookupName(view, name, type),
      allowed: () => true,
      logger: pino({ level: "silent" }),
    });
    await server.start();
    resolver.setServers([`127.0.0.1:${port}`]);
  });
  afterAll(() => server.stop());

  it("gives every address of a headless service and SRV records of named ports", async () => {
    expect((await resolver.resolve4("db.default.svc.cluster.local")).sort()).toEqual([
      "10.89.0.5",
      "10.89.0.6",
      "10.89.0.7",
    ]);
    expect(await resolver.resolveSrv("_http._tcp.web.default.svc.cluster.local")).toEqual([
      { name: "web.default.svc.cluster.local", port: 80, priority: 0, weight: 100 },
    ]);
    expect(await resolver.resolveSrv("_dns._udp.web.default.svc.cluster.local")).toEqual([
      { name: "web.default.svc.cluster.local", port: 53, priority: 0, weight: 100 },
    ]);
    const srv = await resolver.resolveSrv("_peer._tcp.db.default.svc.cluster.local");
    expect(srv.map((r) => [r.name, r.port]).sort()).toEqual([
      ["10-89-0-6.db.default.svc.cluster.local", 7000],
      ["10-89-0-7.db.default.svc.cluster.local", 7000],
      ["db-0.db.default.svc.cluster.local", 7000],
    ]);
    expect(await resolver.resolve4("db-0.db.default.svc.cluster.local")).toEqual(["10.89.0.5"]);
  });

  it("answers NXDOMAIN and NODATA as the specification says, PTR and the schema version", async () => {
    await expect(resolver.resolve4("empty.default.svc.cluster.local")).rejects.toMatchObject({
      code: "ENOTFOUND",
    });
    await expect(resolver.resolve6("web.default.svc.cluster.local")).rejects.toMatchObject({
      code: "ENODATA",
    });
    expect(await resolver.reverse("100.64.0.1")).toEqual(["web.default.svc.cluster.local"]);
    expect(await resolver.reverse("10.89.0.5")).toEqual(["db-0.db.default.svc.cluster.local"]);
    expect(await resolver.resolveTxt("dns-version.cluster.local")).toEqual([[DNS_SCHEMA_VERSION]]);
  });

  it("truncates an answer too long for UDP (TC set) rather than sending more than 512 bytes", async () => {
    const many = Array.from({ length: 60 }, (_, i) => ({
      podId: `p${i}`,
      ip: `10.89.1.${i + 1}`,
      nodeName: "n1",
    }));
    const big: NetworkView = {
      ...view,
      services: [service("big", { clusterIP: "None", addresses: many })],
    };
    const got = lookupName(big, "big.default.svc.cluster.local", "A");
    expect(got.kind === "found" && got.answers).toHaveLength(60);
    const query = Buffer.concat([
      Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
      ...["big", "default", "svc", "cluster", "local"].map((l) =>
        Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]),
      ),
      Buffer.from([0, 0, 1, 0, 1]),
    ]);
    const q = readQuestion(query);
    if (!q || got.kind !== "found") throw new Error("no question");
    const reply = writeAnswer(query, q, 0, got.answers);
    expect(reply.length).toBeLessThanOrEqual(512);
    expect(reply.readUInt16BE(2) & 0x0200).toBe(0x0200);
    expect(reply.readUInt16BE(6)).toBeLessThan(60);
  });
});
