import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "./harness";

/**
 * A Service's endpoints through the API, driven as a node agent drives them (its status reports
 * over HTTP): only ready pods with an address, in the EndpointSlice and in the node's network view,
 * following the pods as they turn ready, unready and terminating; status.podIP as the node said.
 */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;
let p: Platform;
let token: string;
let clusterId: string;
let node: { credential: string };
let beat: NodeJS.Timeout;

beforeAll(async () => {
  p = await startPlatform();
  ({ token } = await p.api.tenant("endpoints"));
  clusterId = await p.activeCluster(token, "c");
  const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
  const j = await p.api.call("POST", "/v1/nodes/join", {
    body: {
      joinToken: jt.body.token,
      name: "n1",
      capacity: { cpuMillis: 8000, memoryBytes: 8 * 1024 ** 3, pods: 50 },
      portRange: { min: 31000, max: 31019 },
      address: "127.0.0.1",
    },
  });
  node = { credential: j.body.credential };
  beat = setInterval(
    () => void p.api.call("POST", "/v1/nodes/heartbeat", { token: node.credential, body: {} }),
    1000,
  );
}, 60_000);
afterAll(async () => {
  clearInterval(beat);
  await p?.close();
});

const call = (method: string, path: string, body?: unknown) =>
  p.api.call(method, `/v1/clusters/${clusterId}/${path}`, { token, ...(body ? { body } : {}) });
const report = (pods: { id: string; ready: boolean; ip: string }[]) =>
  p.api.call("POST", "/v1/nodes/sync", {
    token: node.credential,
    body: {
      pods: pods.map((x) => ({
        podId: x.id,
        state: "running",
        phase: "Running",
        restarts: 0,
        ready: x.ready,
        podIP: x.ip,
      })),
    },
  });
const sliceIPs = async () =>
  (await call("GET", "endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb")).body.items.flatMap(
    (s: J) => (s.endpoints as J[]).map((e) => `${e.addresses[0]}:${s.ports[0]?.port}`),
  ) as string[];
const viewIPs = async () => {
  const v = await p.api.call("GET", "/v1/nodes/network", { token: node.credential });
  expect(v.status).toBe(200);
  const web = (v.body.services as J[]).find((s) => s.name === "web");
  expect(web?.clusterIP).toMatch(/^100\./);
  return ((web?.ports[0]?.endpoints ?? []) as J[]).map((e) => `${e.ip}:${e.port}`).sort();
};

describe("endpoints follow readiness", () => {
  let pods: J[];
  it("holds only the ready pods, at their named port", async () => {
    expect(
      (
        await call("PUT", "services/default/web", {
          spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
        })
      ).status,
    ).toBe(200);
    const d = await call("PUT", "deployments/default/web", {
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            containers: [
              {
                name: "w",
                image: "localhost/berth/demo-web:latest",
                ports: [{ name: "http", containerPort: 8080 }],
              },
            ],
          },
        },
      },
    });
    expect(d.status, d.text).toBe(200);
    pods = await p.waitFor("2 placed pods", async () => {
      const list = (await call("GET", "pods?labelSelector=app%3Dweb")).body.items as J[];
      return list.length === 2 && list.every((x) => x.nodeName === "n1") && list;
    });
    expect(await sliceIPs()).toEqual([]);
    await report([
      { id: pods[0].id, ready: true, ip: "10.89.7.2" },
      { id: pods[1].id, ready: false, ip: "10.89.7.3" },
    ]);
    expect(await sliceIPs()).toEqual(["10.89.7.2:8080"]);
    expect(await viewIPs()).toEqual(["10.89.7.2:8080"]);
    const shown = (await call("GET", `pods/default/${pods[1].name}`)).body;
    expect(shown.status).toMatchObject({
      podIP: "10.89.7.3",
      podIPs: [{ ip: "10.89.7.3" }],
      hostIP: "127.0.0.1",
    });
  });

  it("takes a pod in when it turns ready and out when it turns unready", async () => {
    await report([
      { id: pods[0].id, ready: true, ip: "10.89.7.2" },
      { id: pods[1].id, ready: true, ip: "10.89.7.3" },
    ]);
    expect((await sliceIPs()).sort()).toEqual(["10.89.7.2:8080", "10.89.7.3:8080"]);
    await report([
      { id: pods[0].id, ready: false, ip: "10.89.7.2" },
      { id: pods[1].id, ready: true, ip: "10.89.7.3" },
    ]);
    expect(await sliceIPs()).toEqual(["10.89.7.3:8080"]);
    expect(await viewIPs()).toEqual(["10.89.7.3:8080"]);
  });

  it("drops a terminating pod at once, even while its node still says it is ready", async () => {
    expect((await call("DELETE", `pods/default/${pods[1].name}`)).status).toBe(200);
    await report([
      { id: pods[0].id, ready: false, ip: "10.89.7.2" },
      { id: pods[1].id, ready: true, ip: "10.89.7.3" },
    ]);
    expect(await sliceIPs()).toEqual([]);
    expect(await viewIPs()).toEqual([]);
    const [slice] = (await call("GET", "endpointslices?namespace=default")).body.items;
    expect(slice).toMatchObject({ kind: "EndpointSlice", endpoints: [], ports: [] });
  });

  it("gives the node a pod range of its own, and the next free one when its host holds it", async () => {
    const first = (await p.api.call("GET", "/v1/nodes/network", { token: node.credential })).body;
    expect(first.podCidr).toMatch(/^10\.(3[2-9]|[45]\d|6[0-3])\.\d+\.0\/24$/);
    expect(first.podCidrs).toContain(first.podCidr);
    const again = (await p.api.call("GET", "/v1/nodes/network", { token: node.credential })).body;
    expect(again.podCidr).toBe(first.podCidr);
    const moved = await p.api.call(
      "GET",
      `/v1/nodes/network?podCidrTaken=${encodeURIComponent(first.podCidr)}`,
      { token: node.credential },
    );
    expect(moved.status).toBe(200);
    expect(moved.body.podCidr).not.toBe(first.podCidr);
    expect(moved.body.podCidrs).toContain(moved.body.podCidr);
    expect(moved.body.podCidrs).not.toContain(first.podCidr);
    const bad = await p.api.call("GET", "/v1/nodes/network?podCidrTaken=10.1.2.3%2F8", {
      token: node.credential,
    });
    expect(bad.status).toBe(400);
  });

  it("is refused to a caller without a node credential, and validates its input", async () => {
    expect((await p.api.call("GET", "/v1/nodes/network", { token })).status).toBe(401);
    const bad = await call("GET", "endpointslices?labelSelector=%3D%3D%3D");
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("VALIDATION_FAILED");
    expect((await call("GET", "endpointslices/default/nope-12345")).status).toBe(404);
  });
});
