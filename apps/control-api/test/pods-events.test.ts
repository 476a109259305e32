import { deployments, pods, recordEvent, withSystem, withTenant } from "@berth/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";
import { addNode, addPod, tenantWithCluster } from "./workload-support";

/** Pods and events in Kubernetes' shape. */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;
let api: TestApi;
let t: Awaited<ReturnType<typeof tenantWithCluster>>;
let base: string;
let podName: string;
let nodeId: string;
beforeAll(async () => {
  api = await createTestApi();
  t = await tenantWithCluster(api, "pods");
  base = `/v1/clusters/${t.clusterId}`;
  const put = await api.call("PUT", `${base}/deployments/default/web`, {
    token: t.token,
    body: {
      spec: {
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            containers: [
              {
                name: "web",
                image: "localhost/web:1",
                env: [{ name: "PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } }],
              },
            ],
          },
        },
      },
    },
  });
  expect(put.status, put.text).toBe(200);
  const [d] = await withSystem(api.deps.db, (tx) =>
    tx.select().from(deployments).where(eq(deployments.name, "web")),
  );
  nodeId = await addNode(api, t.tenantId, t.clusterId);
  podName = "web-abc12";
  await addPod(api, {
    ...t,
    namespace: "default",
    name: podName,
    template: d?.template as never,
    owner: { kind: "Deployment", id: d?.id as string },
    nodeId,
    labels: { app: "web", "pod-template-hash": "h" },
  });
  await addPod(api, {
    ...t,
    namespace: "default",
    name: "other-1",
    template: d?.template as never,
    owner: { kind: "Deployment", id: d?.id as string },
    labels: { app: "other" },
  });
});
afterAll(() => api.close());

describe("pods", () => {
  it("reads one pod in Kubernetes' shape: its owner, its template's spec (references, never values), its status", async () => {
    const r = await api.call("GET", `${base}/pods/default/${podName}`, { token: t.token });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: podName,
        namespace: "default",
        uid: expect.stringMatching(/^pod_/),
        labels: { app: "web" },
        ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "web", controller: true }],
      },
      spec: {
        nodeName: expect.stringMatching(/^n-/),
        restartPolicy: "Always",
        containers: [
          {
            name: "web",
            env: [
              {
                name: "PASSWORD",
                valueFrom: { secretKeyRef: { name: "db", key: "password", optional: false } },
              },
            ],
          },
        ],
      },
      status: {
        phase: "Running",
        hostIP: "10.0.0.7",
        // The pod's own address comes from its node's report; this node reported none.
        podIP: null,
        containerStatuses: [],
        initContainerStatuses: [],
        conditions: expect.arrayContaining([
          expect.objectContaining({ type: "PodScheduled", status: "True" }),
        ]),
      },
    });
    expect((await api.call("GET", `${base}/pods/default/nope`, { token: t.token })).body.error.message).toBe(
      'pods "nope" not found',
    );
  });

  it("lists pods with the flat fields it always had, filtered by namespace and label selector", async () => {
    const all = await api.call("GET", `${base}/pods`, { token: t.token });
    expect(all.body.items).toHaveLength(2);
    expect(all.body.items[0]).toMatchObject({
      name: "other-1",
      nodeId: null,
      phase: "Pending",
      hostPort: null,
      kind: "Pod",
    });
    // Page by page (one a page), with the namespace and without: the same pods, newest first.
    for (const namespace of ["", "&namespace=default"]) {
      const seen: string[] = [];
      let cursor = "";
      for (let i = 0; i < 3; i++) {
        const page = await api.call("GET", `${base}/pods?limit=1${namespace}${cursor}`, { token: t.token });
        seen.push(...page.body.items.map((p: J) => p.name));
        if (!page.body.nextCursor) break;
        cursor = `&cursor=${page.body.nextCursor}`;
      }
      expect(seen).toEqual(all.body.items.map((p: J) => p.name));
    }
    const web = await api.call("GET", `${base}/pods?labelSelector=app%3Dweb`, { token: t.token });
    expect(web.body.items.map((p: J) => p.metadata.name)).toEqual([podName]);
    const none = await api.call("GET", `${base}/pods?namespace=kube-system`, { token: t.token });
    expect(none.body.items).toEqual([]);
    const bad = await api.call("GET", `${base}/pods?labelSelector=${encodeURIComponent("app in (")}`, {
      token: t.token,
    });
    expect(bad.status).toBe(400);
  });

  it("deletes a pod gracefully: marked for its node to stop, an unplaced one at once", async () => {
    const del = await api.call("DELETE", `${base}/pods/default/${podName}`, { token: t.token });
    expect(del.status, del.text).toBe(200);
    expect(del.body.metadata.deletionTimestamp).toEqual(expect.any(String));
    const [row] = await withSystem(api.deps.db, (tx) => tx.select().from(pods).where(eq(pods.name, podName)));
    expect(row?.deletionRequestedAt).not.toBeNull();
    expect((await api.call("DELETE", `${base}/pods/default/other-1`, { token: t.token })).status).toBe(200);
    const gone = await withSystem(api.deps.db, (tx) =>
      tx.select().from(pods).where(eq(pods.name, "other-1")),
    );
    expect(gone).toEqual([]);
  });
});

describe("events", () => {
  it("answers Kubernetes' Event shape, with counts of repeats, filtered by namespace and object", async () => {
    for (let i = 0; i < 3; i++)
      await withTenant(api.deps.db, t.tenantId, (tx) =>
        recordEvent(tx, {
          tenantId: t.tenantId,
          clusterId: t.clusterId,
          objectKind: "Pod",
          objectName: podName,
          namespace: "default",
          objectUid: "pod_x",
          source: "node-1",
          type: "Warning",
          reason: "BackOff",
          message: "Back-off restarting failed container web",
        }),
      );
    const r = await api.call("GET", `${base}/events?namespace=default&involvedObject=Pod/${podName}`, {
      token: t.token,
    });
    expect(r.status, r.text).toBe(200);
    const backOff = r.body.items.find((e: J) => e.reason === "BackOff");
    expect(backOff).toMatchObject({
      apiVersion: "v1",
      kind: "Event",
      metadata: {
        name: expect.any(String),
        namespace: "default",
        uid: expect.any(String),
        creationTimestamp: expect.any(String),
      },
      involvedObject: { kind: "Pod", namespace: "default", name: podName, uid: "pod_x" },
      type: "Warning",
      count: 3,
      firstTimestamp: expect.any(String),
      lastTimestamp: expect.any(String),
      source: { component: "node-1" },
    });
    expect(r.body.items.map((e: J) => e.reason)).toEqual(["BackOff", "Deleted"]);
    const dep = await api.call("GET", `${base}/events?involvedObject=Deployment/web`, { token: t.token });
    expect(dep.body.items.map((e: J) => [e.reason, e.object])).toEqual([
      ["Created", "Deployment/default/web"],
    ]);
    const other = await api.call("GET", `${base}/events?namespace=elsewhere`, { token: t.token });
    expect(other.body.items).toEqual([]);
    expect(
      (
        await api.call("GET", `${base}/events?involvedObject=${encodeURIComponent("x y")}`, {
          token: t.token,
        })
      ).status,
    ).toBe(400);
  });
});
