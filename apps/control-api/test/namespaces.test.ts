import { deployments, type PodTemplate, pods, withSystem } from "@berth/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";
import { addNode, addPod, tenantWithCluster } from "./workload-support";

/** Namespaces as Kubernetes has them: built-in ones, required before use, deleted with what they hold. */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;
let api: TestApi;
let t: Awaited<ReturnType<typeof tenantWithCluster>>;
let base: string;
beforeAll(async () => {
  api = await createTestApi();
  t = await tenantWithCluster(api, "namespaces");
  base = `/v1/clusters/${t.clusterId}`;
});
afterAll(() => api.close());

const call = (method: string, path: string, body?: unknown) =>
  api.call(method, `${base}/${path}`, { token: t.token, ...(body !== undefined ? { body } : {}) });

const podSpec = { containers: [{ name: "app", image: "localhost/app:1" }] };
const template: PodTemplate = {
  containers: [
    {
      name: "app",
      image: "localhost/app:1",
      env: [],
      ports: [],
      resources: { cpuMillis: 100, memoryBytes: 1024 },
      limits: { cpuMillis: 100, memoryBytes: 1024 },
    },
  ],
  nodeSelector: {},
  tolerations: [],
  priority: 0,
  rollout: { maxSurge: 0, maxUnavailable: 0 },
};

describe("built-in namespaces", () => {
  it("has default, kube-system and kube-public from the start", async () => {
    const list = await call("GET", "namespaces");
    expect(list.body.items.map((n: J) => n.metadata.name).sort()).toEqual([
      "default",
      "kube-public",
      "kube-system",
    ]);
    const d = await call("GET", "namespaces/default");
    expect(d.body).toMatchObject({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "default", labels: { "kubernetes.io/metadata.name": "default" } },
      status: { phase: "Active" },
    });
    expect(d.body.metadata.namespace).toBeUndefined();
  });

  it("refuses to delete them", async () => {
    for (const name of ["default", "kube-system", "kube-public"]) {
      const r = await call("DELETE", `namespaces/${name}`);
      expect(r.status).toBe(403);
      expect(r.body.error.message).toBe(
        `namespaces "${name}" is forbidden: this namespace may not be deleted`,
      );
    }
  });

  it("keeps tenants out of kube-system and kube-public", async () => {
    const r = await call("PUT", "configmaps/kube-system/x", { data: { a: "b" } });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toBe(
      'configmaps "x" is forbidden: namespace kube-system is reserved for the platform; tenants cannot write into it',
    );
    expect((await call("PUT", "namespaces/kube-public", {})).status).toBe(403);
  });
});

describe("namespaces must exist before anything goes into them", () => {
  it("refuses objects and deployments in a namespace that does not exist, in Kubernetes' words", async () => {
    for (const [path, body] of [
      ["configmaps/nowhere/x", { data: {} }],
      ["deployments/nowhere/web", { spec: { template: { spec: podSpec } } }],
      ["jobs/nowhere/j", { spec: { template: { spec: { ...podSpec, restartPolicy: "Never" } } } }],
    ] as const) {
      const r = await call("PUT", path, body);
      expect(r.status, path).toBe(404);
      expect(r.body.error).toMatchObject({ code: "NOT_FOUND", message: 'namespaces "nowhere" not found' });
    }
    expect((await call("PUT", "namespaces/nowhere", {})).status).toBe(200);
    expect((await call("PUT", "configmaps/nowhere/x", { data: {} })).status).toBe(200);
  });

  it("offers only the restricted Pod Security level", async () => {
    const label = "pod-security.kubernetes.io/enforce";
    const r = await call("PUT", "namespaces/psa", { metadata: { labels: { [label]: "privileged" } } });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toBe(
      `metadata.labels.${label}: only "restricted" is offered (every namespace enforces Pod Security "restricted"), not "privileged"`,
    );
    const ok = await call("PUT", "namespaces/psa", { metadata: { labels: { [label]: "restricted" } } });
    expect(ok.status, ok.text).toBe(200);
  });
});

describe("deleting a namespace", () => {
  it("deletes everything in it, is Terminating while its pods stop, then is gone", async () => {
    expect((await call("PUT", "namespaces/shop", {})).status).toBe(200);
    const writes = [
      ["deployments/shop/web", { spec: { replicas: 1, template: { spec: podSpec } } }],
      ["jobs/shop/once", { spec: { template: { spec: { ...podSpec, restartPolicy: "Never" } } } }],
      [
        "cronjobs/shop/tick",
        {
          spec: {
            schedule: "@hourly",
            jobTemplate: { spec: { template: { spec: { ...podSpec, restartPolicy: "Never" } } } },
          },
        },
      ],
      ["configmaps/shop/cfg", { data: { a: "b" } }],
      ["secrets/shop/pw", { stringData: { p: "q" } }],
      ["resourcequotas/shop/q", { spec: { hard: { pods: "10" } } }],
      ["limitranges/shop/l", { spec: { limits: [{ type: "Container", max: { cpu: "1" } }] } }],
    ] as const;
    for (const [path, body] of writes) expect((await call("PUT", path, body)).status, path).toBe(200);
    const dep = await call("GET", "deployments/shop/web");
    const job = await call("GET", "jobs/shop/once");
    const nodeId = await addNode(api, t.tenantId, t.clusterId);
    const running = await addPod(api, {
      ...t,
      namespace: "shop",
      name: "web-1",
      template,
      owner: { kind: "Deployment", id: dep.body.metadata.uid },
      nodeId,
    });
    const pending = await addPod(api, {
      ...t,
      namespace: "shop",
      name: "once-1",
      template,
      owner: { kind: "Job", id: job.body.metadata.uid },
    });

    const del = await call("DELETE", "namespaces/shop");
    expect(del.status, del.text).toBe(200);
    expect(del.body.status.phase).toBe("Terminating");
    expect(del.body.metadata.deletionTimestamp).toEqual(expect.any(String));
    expect((await call("GET", "namespaces/shop")).body.status.phase).toBe("Terminating");
    for (const [path] of writes) expect((await call("GET", path)).status, path).toBe(404);
    const rows = await withSystem(api.deps.db, (tx) =>
      tx.select().from(pods).where(eq(pods.namespace, "shop")),
    );
    // The pod never placed is gone; the running one is stopping on its node.
    expect(rows.map((p) => [p.id, p.deletionRequestedAt !== null])).toEqual([[running, true]]);
    expect(rows.some((p) => p.id === pending)).toBe(false);
    const [d] = await withSystem(api.deps.db, (tx) =>
      tx.select().from(deployments).where(eq(deployments.id, dep.body.metadata.uid)),
    );
    expect(d?.deletedAt).not.toBeNull();
    // Nothing new goes into a namespace that is going.
    const late = await call("PUT", "configmaps/shop/late", { data: {} });
    expect(late.status).toBe(403);
    expect(late.body.error.message).toMatch(
      /unable to create new content in namespace shop because it is being terminated/,
    );
    expect((await call("PUT", "namespaces/shop", {})).status).toBe(409);
    const events = await call("GET", "events?involvedObject=Namespace/shop");
    expect(events.body.items[0]).toMatchObject({
      reason: "Terminating",
      message: "deleting namespace shop: 1 deployment(s), 6 other object(s), 1 pod(s) stopping",
    });

    // Its node reports the pod gone: the namespace goes with it.
    await withSystem(api.deps.db, (tx) => tx.delete(pods).where(eq(pods.id, running)));
    expect((await call("GET", "namespaces/shop")).status).toBe(404);
    expect((await call("PUT", "namespaces/shop", {})).status).toBe(200);
  });

  it("is gone at once when it has no pods", async () => {
    expect((await call("PUT", "namespaces/empty", {})).status).toBe(200);
    expect((await call("PUT", "configmaps/empty/c", { data: {} })).status).toBe(200);
    const del = await call("DELETE", "namespaces/empty");
    expect(del.body.status.phase).toBe("Terminating");
    expect((await call("GET", "namespaces/empty")).status).toBe(404);
    expect((await call("GET", "configmaps/empty/c")).status).toBe(404);
  });
});
