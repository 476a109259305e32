import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";
import { addNode, tenantWithCluster } from "./workload-support";

/** Node ports through the API: allocated, unique in the cluster, kept, freed; where they are served. */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;
let api: TestApi;
let a: { token: string; tenantId: string; clusterId: string };
let b: { token: string; tenantId: string; clusterId: string };
beforeAll(async () => {
  api = await createTestApi();
  a = await tenantWithCluster(api, "np-a");
  b = await tenantWithCluster(api, "np-b");
});
afterAll(() => api.close());

const put = (t: typeof a, name: string, spec: Record<string, unknown>) =>
  api.call("PUT", `/v1/clusters/${t.clusterId}/services/default/${name}`, {
    token: t.token,
    body: {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name },
      spec: { selector: { app: name }, ...spec },
    },
  });
const nodePorts = (r: J): number[] => r.body.spec.ports.map((p: J) => p.nodePort);
const twoPorts = [
  { name: "http", port: 80 },
  { name: "https", port: 443 },
];

describe("node ports", () => {
  it("gives each port of a NodePort or LoadBalancer Service one from 30000-32767, none to a ClusterIP one", async () => {
    const np = await put(a, "web", { type: "NodePort", ports: twoPorts });
    expect(np.status, np.text).toBe(200);
    const ports = nodePorts(np);
    expect(new Set(ports).size).toBe(2);
    for (const port of ports) expect(port >= 30000 && port <= 32767).toBe(true);
    const lb = await put(a, "lb", { type: "LoadBalancer", ports: [{ port: 80 }] });
    expect(nodePorts(lb)[0]).toBeGreaterThanOrEqual(30000);
    expect(nodePorts(await put(a, "plain", { ports: [{ port: 80 }] }))).toEqual([undefined]);
  });

  it("keeps them across re-applies, frees them when the type changes or the Service goes", async () => {
    const first = nodePorts(await put(a, "keep", { type: "NodePort", ports: twoPorts }));
    expect(nodePorts(await put(a, "keep", { type: "NodePort", ports: twoPorts }))).toEqual(first);
    // Another Service cannot take one; a ClusterIP re-apply gives them back.
    const clash = await put(a, "clash", { type: "NodePort", ports: [{ port: 80, nodePort: first[0] }] });
    expect(clash.status).toBe(400);
    expect(clash.body.error.message).toMatch(
      /^spec\.ports\[0\]\.nodePort: provided port is already allocated/,
    );
    expect(nodePorts(await put(a, "keep", { ports: twoPorts }))).toEqual([undefined, undefined]);
    const taken = await put(a, "clash", { type: "NodePort", ports: [{ port: 80, nodePort: first[0] }] });
    expect(taken.status, taken.text).toBe(200);
    const del = await api.call("DELETE", `/v1/clusters/${a.clusterId}/services/default/clash`, {
      token: a.token,
    });
    expect(del.status).toBe(200);
    const again = await put(a, "again", { type: "NodePort", ports: [{ port: 80, nodePort: first[0] }] });
    expect(again.status, again.text).toBe(200);
    // Unique per cluster: another cluster may use the same port.
    const other = await put(b, "again", { type: "NodePort", ports: [{ port: 80, nodePort: first[0] }] });
    expect(other.status, other.text).toBe(200);
  });

  it("names the ready nodes' addresses and ports in ExternallyReachable; LoadBalancer stays NotServedYet", async () => {
    await addNode(api, a.tenantId, a.clusterId);
    const svc = (
      await api.call("GET", `/v1/clusters/${a.clusterId}/services/default/web`, { token: a.token })
    ).body;
    const [http, https] = svc.spec.ports.map((p: J) => p.nodePort);
    expect(svc.status.conditions).toEqual([
      {
        type: "berth.io/ExternallyReachable",
        status: "True",
        reason: "NodePortServed",
        message: `served on node port ${http}, ${https} of every ready node of the cluster: 10.0.0.7:${http}, 10.0.0.7:${https}`,
      },
    ]);
    const lb = (await api.call("GET", `/v1/clusters/${a.clusterId}/services/default/lb`, { token: a.token }))
      .body;
    expect(lb.status.conditions[0]).toMatchObject({ status: "False", reason: "NotServedYet" });
  });
});
