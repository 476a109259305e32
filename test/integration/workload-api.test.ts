import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "./harness";

/**
 * The workload API with the real control loop: a six-document apply whose Deployment the control
 * loop runs on a node (the node's calls made here, as its agent makes them); the node gets the
 * ConfigMap's and Secret's values, the API never shows them; a deleted pod is replaced; deleting
 * the namespace stops its pods and the namespace goes once its node reports them gone.
 */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;
const SHOP = readFileSync(join(import.meta.dirname, "../fixtures/apply-shop.yaml"), "utf8");

let p: Platform;
let token: string;
let base: string;
let credential: string;
beforeAll(async () => {
  p = await startPlatform();
  ({ token } = await p.api.tenant("workload-api"));
  const clusterId = await p.activeCluster(token, "c");
  base = `/v1/clusters/${clusterId}`;
  const jt = await p.api.call("POST", `${base}/join-tokens`, { token });
  const joined = await p.api.call("POST", "/v1/nodes/join", {
    body: {
      joinToken: jt.body.token,
      name: "n1",
      capacity: { cpuMillis: 4000, memoryBytes: 8 * 1024 ** 3, pods: 20 },
      portRange: { min: 30000, max: 30050 },
      address: "127.0.0.1",
    },
  });
  credential = joined.body.credential;
});
afterAll(() => p.close());

const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  p.api.call(method, `${base}/${path}`, {
    token,
    ...(body !== undefined ? { body } : {}),
    ...(headers ? { headers } : {}),
  });
/** The node's status report: what it runs; the answer is what it should run. */
const sync = async (running: string[]) =>
  (
    await p.api.call("POST", "/v1/nodes/sync", {
      token: credential,
      body: { pods: running.map((podId) => ({ podId, state: "running", restarts: 0, ready: true })) },
    })
  ).body.pods as J[];

/** The Deployment's pods the node is told to run (the Job's pod runs beside them). */
const isWeb = (a: J) => a.action === "run" && a.namespace === "shop" && a.name.startsWith("web-");

describe("the workload API under the real control loop", () => {
  let webPods: J[] = [];

  it("applies six documents and runs the Deployment; its node alone gets the ConfigMap's and Secret's values", async () => {
    const r = await call("POST", "apply", SHOP, { "content-type": "application/yaml" });
    expect(r.status, r.text).toBe(200);
    expect(r.body.items.map((i: J) => i.action)).toEqual(Array(6).fill("created"));
    webPods = await p.waitFor("web's two pods on n1", async () => {
      const run = (await sync([])).filter(isWeb);
      return run.length === 2 && run;
    });
    expect(webPods[0].containers[0].env).toEqual([
      { name: "GREETING", value: "hello from the shop" },
      { name: "PASSWORD", value: "s3cr3t-shop" },
    ]);
    await sync(webPods.map((x) => x.podId));
    await p.waitFor(
      "web ready",
      async () => (await call("GET", "deployments/shop/web")).body.status.readyReplicas === 2,
    );
    const pod = await call("GET", `pods/shop/${webPods[0].name}`);
    expect(pod.body).toMatchObject({
      metadata: {
        namespace: "shop",
        ownerReferences: [{ kind: "Deployment", name: "web" }],
        labels: { app: "web" },
      },
      spec: {
        nodeName: "n1",
        containers: [
          { env: [{ name: "GREETING" }, { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "db" } } }] },
        ],
      },
      status: { phase: "Running", hostIP: "127.0.0.1" },
    });
    const listed = await call("GET", "pods?namespace=shop&labelSelector=app%3Dweb");
    for (const text of [pod.text, listed.text, (await call("GET", "deployments/shop/web")).text])
      expect(text).not.toContain("s3cr3t");
  });

  it("replaces a deleted pod through the control loop; the node stops the old one", async () => {
    const victim = webPods[0];
    const del = await call("DELETE", `pods/shop/${victim.name}`);
    expect(del.status, del.text).toBe(200);
    const next = await p.waitFor("a replacement pod, and the old one told to stop", async () => {
      const a = await sync(webPods.map((x) => x.podId));
      const stop = a.find((x) => x.podId === victim.podId)?.action === "stop";
      const run = a.filter(isWeb);
      return stop && run.length === 2 && run;
    });
    // The node reports the old pod gone (it no longer has it).
    await sync(next.map((x: J) => x.podId));
    const left = await call("GET", "pods?namespace=shop&labelSelector=app%3Dweb");
    expect(left.body.items.map((x: J) => x.metadata.name).sort()).toEqual(next.map((x: J) => x.name).sort());
    webPods = next;
  });

  it("deletes the namespace: Terminating while its pods stop on the node, then gone", async () => {
    const del = await call("DELETE", "namespaces/shop");
    expect(del.status, del.text).toBe(200);
    expect(del.body.status.phase).toBe("Terminating");
    expect((await call("GET", "deployments/shop/web")).status).toBe(404);
    const stops = await sync(webPods.map((x) => x.podId));
    expect(stops.filter((x) => x.name.startsWith("web-")).map((x) => x.action)).toEqual(["stop", "stop"]);
    expect((await call("GET", "namespaces/shop")).body.status.phase).toBe("Terminating");
    // The node has stopped them and no longer reports them.
    await sync([]);
    await p.waitFor("the namespace gone", async () => (await call("GET", "namespaces/shop")).status === 404);
    expect((await call("GET", "pods?namespace=shop")).body.items).toEqual([]);
    const again = await call("POST", "apply", SHOP, { "content-type": "application/yaml" });
    expect(again.body.items.map((i: J) => i.action)).toEqual(Array(6).fill("created"));
  });
});
