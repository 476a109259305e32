import { clusters, withSystem } from "@berth/db";
import { inCidr } from "@berth/protocol";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";
import { tenantWithCluster } from "./workload-support";

/** v1 Service through the API: admission errors naming the field, and clusterIPs from the cluster's range. */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;
let api: TestApi;
let a: { token: string; clusterId: string };
let b: { token: string; clusterId: string };
beforeAll(async () => {
  api = await createTestApi();
  a = await tenantWithCluster(api, "svc-a");
  b = await tenantWithCluster(api, "svc-b");
});
afterAll(() => api.close());

const manifest = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: "http" }], ...spec },
});
const put = (t: { token: string; clusterId: string }, name: string, spec: Record<string, unknown> = {}) =>
  api.call("PUT", `/v1/clusters/${t.clusterId}/services/default/${name}`, {
    token: t.token,
    body: manifest(name, spec),
  });
const del = (t: { token: string; clusterId: string }, name: string) =>
  api.call("DELETE", `/v1/clusters/${t.clusterId}/services/default/${name}`, { token: t.token });
const rangeOf = async (clusterId: string) => {
  const [c] = await withSystem(api.deps.db, (tx) =>
    tx.select({ cidr: clusters.serviceCidr }).from(clusters).where(eq(clusters.id, clusterId)),
  );
  return c?.cidr ?? "";
};

describe("Service clusterIPs", () => {
  it("come from the cluster's own service range, one per service", async () => {
    const web = await put(a, "web");
    expect(web.status).toBe(200);
    const api1 = await put(a, "api");
    const range = await rangeOf(a.clusterId);
    expect(range).toMatch(/^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d+\.0\/24$/);
    const ips = [web.body.spec.clusterIP, api1.body.spec.clusterIP];
    for (const ip of ips) expect(inCidr(range, ip)).toBe(true);
    expect(new Set(ips).size).toBe(2);
    expect(web.body.spec.clusterIPs).toEqual([web.body.spec.clusterIP]);
    expect(ips).not.toContain(range.replace("0/24", "10"));
    const list = await api.call("GET", `/v1/clusters/${a.clusterId}/services`, { token: a.token });
    expect(list.body.items.map((s: J) => [s.metadata.name, s.spec.clusterIP])).toEqual([
      ["api", api1.body.spec.clusterIP],
      ["web", web.body.spec.clusterIP],
    ]);
  });

  it("stay the same when the service is applied again, changed or not", async () => {
    const before = (
      await api.call("GET", `/v1/clusters/${a.clusterId}/services/default/web`, { token: a.token })
    ).body as J;
    const same = await put(a, "web");
    expect(same.body.spec.clusterIP).toBe(before.spec.clusterIP);
    expect(same.body.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    const changed = await put(a, "web", { ports: [{ name: "http", port: 8080, targetPort: "http" }] });
    expect(changed.status).toBe(200);
    expect(changed.body.spec.clusterIP).toBe(before.spec.clusterIP);
    // What a GET answers can be sent back as it is.
    const roundTrip = await api.call("PUT", `/v1/clusters/${a.clusterId}/services/default/web`, {
      token: a.token,
      body: changed.body,
    });
    expect(roundTrip.status).toBe(200);
    expect(roundTrip.body.metadata.resourceVersion).toBe(changed.body.metadata.resourceVersion);
  });

  it("cannot be changed, and a taken or foreign one cannot be asked for", async () => {
    const web = (
      await api.call("GET", `/v1/clusters/${a.clusterId}/services/default/web`, { token: a.token })
    ).body as J;
    const range = await rangeOf(a.clusterId);
    const other = range.replace("0/24", "200");
    const moved = await put(a, "web", { clusterIP: other });
    expect(moved.status).toBe(400);
    expect(moved.body.error.code).toBe("VALIDATION_FAILED");
    expect(moved.body.error.message).toMatch(/^spec\.clusterIP: field is immutable/);
    const taken = await put(a, "taker", { clusterIP: web.spec.clusterIP });
    expect(taken.status).toBe(400);
    expect(taken.body.error.message).toMatch(/spec\.clusterIP: .*already allocated/);
    const foreign = await put(a, "foreign", { clusterIP: "10.96.0.1" });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.message).toMatch(/spec\.clusterIP: .*not in the valid range/);
    const chosen = await put(a, "chosen", { clusterIP: other });
    expect(chosen.status).toBe(200);
    expect(chosen.body.spec.clusterIP).toBe(other);
  });

  it("are freed when the service is deleted", async () => {
    const api1 = (
      await api.call("GET", `/v1/clusters/${a.clusterId}/services/default/api`, { token: a.token })
    ).body as J;
    expect((await del(a, "api")).status).toBe(200);
    const reused = await put(a, "api2", { clusterIP: api1.spec.clusterIP });
    expect(reused.status).toBe(200);
    expect(reused.body.spec.clusterIP).toBe(api1.spec.clusterIP);
  });

  it("of two services in one apply are different (allocated in the apply's one transaction)", async () => {
    const r = await api.call("POST", `/v1/clusters/${a.clusterId}/apply`, {
      token: a.token,
      body: [manifest("one"), manifest("two")],
    });
    expect(r.status).toBe(200);
    expect((r.body.items as J[]).map((i) => i.action)).toEqual(["created", "created"]);
    const got = await Promise.all(
      ["one", "two"].map(
        async (n) =>
          (await api.call("GET", `/v1/clusters/${a.clusterId}/services/default/${n}`, { token: a.token }))
            .body.spec.clusterIP,
      ),
    );
    expect(got[0]).toMatch(/^100\./);
    expect(got[0]).not.toBe(got[1]);
  });

  it("of another cluster come from a range of its own", async () => {
    expect((await put(b, "web")).status).toBe(200);
    const ra = await rangeOf(a.clusterId);
    const rb = await rangeOf(b.clusterId);
    expect(rb).not.toBe(ra);
    // The other tenant sees nothing of the first one's services.
    const foreign = await api.call("GET", `/v1/clusters/${a.clusterId}/services/default/web`, {
      token: b.token,
    });
    expect(foreign.status).toBe(404);
  });
});

describe("Service admission over the API", () => {
  it("names the field of overlapping ports, bad names and bad types (400)", async () => {
    const dup = await put(a, "dup", {
      ports: [
        { name: "a", port: 80 },
        { name: "b", port: 80 },
      ],
    });
    expect(dup.status).toBe(400);
    expect(dup.body.error.code).toBe("VALIDATION_FAILED");
    expect(dup.body.error.message).toMatch(/^spec\.ports\[1\]: Duplicate value/);
    const badName = await put(a, "9lives");
    expect(badName.status).toBe(400);
    expect(badName.body.error.message).toMatch(/^metadata\.name: a DNS-1035 label/);
    const badType = await put(a, "typed", { type: "ExternalName" });
    expect(badType.status).toBe(400);
    expect(badType.body.error.message).toMatch(/spec\.type/);
    const unknown = await put(a, "unknown", { loadBalancerIP: "1.2.3.4" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/loadBalancerIP/);
  });

  it("admits a NodePort service, and its status says where it is served (no node yet: nowhere)", async () => {
    const r = await put(a, "np", { type: "NodePort", ports: [{ name: "http", port: 80, nodePort: 30080 }] });
    expect(r.status).toBe(200);
    expect(r.body.spec.ports[0].nodePort).toBe(30080);
    expect(r.body.status.conditions[0]).toMatchObject({ status: "False", reason: "NoReadyNodes" });
  });
});

describe("headless and UDP Services over the API", () => {
  it("admits several headless services (no address taken) and a TCP+UDP port pair", async () => {
    const h1 = await put(a, "peers", { clusterIP: "None" });
    expect(h1.status).toBe(200);
    expect(h1.body.spec).toMatchObject({ clusterIP: "None", clusterIPs: ["None"] });
    const h2 = await put(a, "peers2", { clusterIPs: ["None"], ports: [], publishNotReadyAddresses: true });
    expect(h2.status).toBe(200);
    expect(h2.body.spec).toMatchObject({ clusterIP: "None", ports: [], publishNotReadyAddresses: true });
    // Applied again without a clusterIP: it stays headless, as Kubernetes keeps an allocated value.
    expect((await put(a, "peers", {})).body.spec.clusterIP).toBe("None");
    const dns = await put(a, "dns", {
      ports: [
        { name: "dns", port: 53, protocol: "UDP" },
        { name: "dns-tcp", port: 53, protocol: "TCP" },
      ],
    });
    expect(dns.status).toBe(200);
    expect(dns.body.spec.ports.map((p: J) => p.protocol)).toEqual(["UDP", "TCP"]);
    expect(inCidr(await rangeOf(a.clusterId), dns.body.spec.clusterIP)).toBe(true);
  });

  it("gives the TCP and UDP ports of one port number one node port, as Kubernetes does", async () => {
    const both = await put(a, "dnsnp", {
      type: "NodePort",
      ports: [
        { name: "dns", port: 53, protocol: "UDP" },
        { name: "dns-tcp", port: 53, protocol: "TCP" },
        { name: "http", port: 80 },
      ],
    });
    expect(both.status, both.text).toBe(200);
    const [udp, tcp, http] = both.body.spec.ports.map((p: J) => p.nodePort);
    expect(udp).toBe(tcp);
    expect(http).not.toBe(udp);
    // Applied again, it keeps them; one node port named for both protocols is taken as given.
    const again = await put(a, "dnsnp", { type: "NodePort", ports: both.body.spec.ports });
    expect(again.body.spec.ports.map((p: J) => p.nodePort)).toEqual([udp, tcp, http]);
    const twice = await put(a, "dnsnp2", {
      type: "NodePort",
      ports: [
        { name: "a", port: 53, protocol: "UDP", nodePort: 31053 },
        { name: "b", port: 53, protocol: "TCP", nodePort: 31053 },
      ],
    });
    expect(twice.status, twice.text).toBe(200);
    const clash = await put(a, "dnsnp3", {
      type: "NodePort",
      ports: [
        { name: "a", port: 53, protocol: "UDP", nodePort: 31054 },
        { name: "b", port: 54, protocol: "UDP", nodePort: 31054 },
      ],
    });
    expect(clash.status).toBe(400);
    expect(clash.body.error.message).toMatch(
      /^spec\.ports\[1\]\.nodePort: provided port is already allocated/,
    );
  });

  it("refuses turning a service headless or back (400 spec.clusterIP: field is immutable)", async () => {
    const toHeadless = await put(a, "web", { clusterIP: "None" });
    expect(toHeadless.status).toBe(400);
    expect(toHeadless.body.error.message).toMatch(/^spec\.clusterIP: field is immutable/);
    const web = (
      await api.call("GET", `/v1/clusters/${a.clusterId}/services/default/web`, { token: a.token })
    ).body as J;
    const back = await put(a, "peers", { clusterIP: web.spec.clusterIP.replace(/\.\d+$/, ".77") });
    expect(back.status).toBe(400);
    expect(back.body.error.message).toMatch(/^spec\.clusterIP: field is immutable \(it is None\)/);
    const nodePort = await put(a, "peers", { type: "NodePort" });
    expect(nodePort.status).toBe(400);
    expect(nodePort.body.error.message).toMatch(/spec\.clusterIP: .*may not be set to 'None' for NodePort/);
  });

  it("refuses SCTP, UDP on a LoadBalancer, and a non-headless service without ports (400 naming the field)", async () => {
    const sctp = await put(a, "sctp", { ports: [{ port: 9, protocol: "SCTP" }] });
    expect(sctp.status).toBe(400);
    expect(sctp.body.error.message).toMatch(/^spec\.ports\[0\]\.protocol: Unsupported value: "SCTP"/);
    const lb = await put(a, "lbudp", { type: "LoadBalancer", ports: [{ port: 53, protocol: "UDP" }] });
    expect(lb.status).toBe(400);
    expect(lb.body.error.message).toMatch(/^spec\.ports\[0\]\.protocol: Unsupported value: "UDP"/);
    const none = await put(a, "noports", { ports: [] });
    expect(none.status).toBe(400);
    expect(none.body.error.message).toMatch(/^spec\.ports: Required value/);
  });
});
