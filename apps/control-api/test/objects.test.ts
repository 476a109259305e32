import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";
import { KINDS } from "./object-manifests";
import { tenantWithCluster } from "./workload-support";

/** Every kind of the registry through PUT / GET / list / DELETE, as Kubernetes' API behaves. */
// biome-ignore lint/suspicious/noExplicitAny: tests read and edit JSON replies freely; the assertions check them
type J = any;
let api: TestApi;
let token: string;
let base: string;
beforeAll(async () => {
  api = await createTestApi();
  const t = await tenantWithCluster(api, "objects");
  token = t.token;
  base = `/v1/clusters/${t.clusterId}`;
  const ns = await api.call("PUT", `${base}/namespaces/team`, {
    token,
    body: { metadata: { labels: { a: "b" } } },
  });
  expect(ns.status, ns.text).toBe(200);
});
afterAll(() => api.close());

describe("every kind round-trips GET → PUT", () => {
  it.each(Object.keys(KINDS))(
    "%s: stored, read back in Kubernetes' shape, written back unchanged",
    async (kind) => {
      const k = KINDS[kind] as (typeof KINDS)[string];
      const put = await api.call("PUT", `${base}/${k.path}`, { token, body: k.body });
      expect(put.status, put.text).toBe(200);
      const got = await api.call("GET", `${base}/${k.path}`, { token });
      expect(got.status, got.text).toBe(200);
      expect(got.body).toMatchObject({
        kind,
        metadata: {
          name: k.path.split("/").at(-1),
          uid: expect.any(String),
          resourceVersion: expect.stringMatching(/^\d+$/),
          generation: 1,
          creationTimestamp: expect.any(String),
          labels: expect.any(Object),
          annotations: expect.any(Object),
        },
      });
      // The GET as it is (server-owned fields included) is a valid PUT that changes nothing.
      const again = await api.call("PUT", `${base}/${k.path}`, { token, body: got.body });
      expect(again.status, again.text).toBe(200);
      expect(again.body.metadata.resourceVersion).toBe(got.body.metadata.resourceVersion);
      expect(again.body.metadata.generation).toBe(1);
      // An edit of the GET is written: a new resourceVersion, and a new generation for a spec change.
      const edited = structuredClone(got.body);
      k.edit(edited);
      const changed = await api.call("PUT", `${base}/${k.path}`, { token, body: edited });
      expect(changed.status, changed.text).toBe(200);
      expect(Number(changed.body.metadata.resourceVersion)).toBeGreaterThan(
        Number(got.body.metadata.resourceVersion),
      );
      expect(changed.body.metadata.generation).toBe(kind === "Namespace" ? 1 : 2);
    },
  );

  it("moves resourceVersion but not generation when only labels change", async () => {
    const got = await api.call("GET", `${base}/configmaps/team/app-config`, { token });
    const relabelled = { ...got.body, metadata: { ...got.body.metadata, labels: { tier: "web" } } };
    const r = await api.call("PUT", `${base}/configmaps/team/app-config`, { token, body: relabelled });
    expect(r.body.metadata.generation).toBe(got.body.metadata.generation);
    expect(r.body.metadata.resourceVersion).not.toBe(got.body.metadata.resourceVersion);
    expect(r.body.metadata.labels).toEqual({ tier: "web" });
  });

  it("shows every default of a deployment and its status, and the revision annotation is never stored", async () => {
    const got = await api.call("GET", `${base}/deployments/team/web`, { token });
    expect(got.body.metadata.annotations["deployment.kubernetes.io/revision"]).toBe("1");
    expect(got.body.spec).toMatchObject({
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      minReadySeconds: 0,
      template: { spec: { restartPolicy: "Always", terminationGracePeriodSeconds: 30 } },
    });
    expect(got.body.status).toMatchObject({
      observedGeneration: 0,
      replicas: 0,
      readyReplicas: 0,
      updatedReplicas: 0,
      availableReplicas: 0,
      unavailableReplicas: 3,
      conditions: [],
    });
    const rows = await api.call("GET", `${base}/deployments?namespace=team`, { token });
    expect(rows.body.items).toHaveLength(1);
  });
});

describe("concurrency and validation", () => {
  it("refuses a PUT carrying a stale resourceVersion with 409", async () => {
    const got = await api.call("GET", `${base}/configmaps/team/app-config`, { token });
    const first = await api.call("PUT", `${base}/configmaps/team/app-config`, {
      token,
      body: { ...got.body, data: { greeting: "hi" } },
    });
    expect(first.status).toBe(200);
    const stale = await api.call("PUT", `${base}/configmaps/team/app-config`, {
      token,
      body: { ...got.body, data: { greeting: "hey" } },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({
      code: "CONFLICT",
      message:
        'Operation cannot be fulfilled on configmaps "app-config": the object has been modified; please apply your changes to the latest version and try again',
    });
    const dep = await api.call("GET", `${base}/deployments/team/web`, { token });
    const bumped = await api.call("PUT", `${base}/deployments/team/web`, {
      token,
      body: { ...dep.body, spec: { ...dep.body.spec, replicas: 1 } },
    });
    expect(bumped.status, bumped.text).toBe(200);
    expect((await api.call("PUT", `${base}/deployments/team/web`, { token, body: dep.body })).status).toBe(
      409,
    );
  });

  it("refuses unknown fields with 400, naming the path", async () => {
    const cm = await api.call("PUT", `${base}/configmaps/team/x`, {
      token,
      body: { data: { a: "b" }, dataa: {} },
    });
    expect(cm.status).toBe(400);
    expect(cm.body.error.message).toBe('dataa: unknown field "dataa"');
    const deep = structuredClone(KINDS.Deployment?.body) as J;
    deep.spec.template.spec.containers[0].imagePolicy = "Always";
    const d = await api.call("PUT", `${base}/deployments/team/web2`, { token, body: deep });
    expect(d.status).toBe(400);
    expect(d.body.error.message).toBe(
      'spec.template.spec.containers[0].imagePolicy: unknown field "imagePolicy"',
    );
  });

  it("keeps an immutable ConfigMap's data, as Kubernetes does, but lets its labels change", async () => {
    const body = { data: { a: "1" }, immutable: true };
    expect((await api.call("PUT", `${base}/configmaps/team/frozen`, { token, body })).status).toBe(200);
    const change = await api.call("PUT", `${base}/configmaps/team/frozen`, {
      token,
      body: { ...body, data: { a: "2" } },
    });
    expect(change.status).toBe(400);
    expect(change.body.error.message).toBe("data: field is immutable when `immutable` is set");
    const thaw = await api.call("PUT", `${base}/configmaps/team/frozen`, {
      token,
      body: { data: { a: "1" } },
    });
    expect(thaw.body.error.message).toMatch(/^immutable: field is immutable/);
    const relabel = await api.call("PUT", `${base}/configmaps/team/frozen`, {
      token,
      body: { ...body, metadata: { labels: { x: "y" } } },
    });
    expect(relabel.status, relabel.text).toBe(200);
  });

  it("lists every namespace unless one is given, filters by label selector, and deletes", async () => {
    await api.call("PUT", `${base}/configmaps/default/other`, {
      token,
      body: { metadata: { labels: { tier: "db" } } },
    });
    const all = await api.call("GET", `${base}/configmaps`, { token });
    expect(all.body.items.map((o: J) => `${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual([
      "default/other",
      "team/app-config",
      "team/frozen",
    ]);
    const one = await api.call("GET", `${base}/configmaps?namespace=default`, { token });
    expect(one.body.items).toHaveLength(1);
    const web = await api.call(
      "GET",
      `${base}/configmaps?labelSelector=${encodeURIComponent("tier in (web)")}`,
      { token },
    );
    expect(web.body.items.map((o: J) => o.metadata.name)).toEqual(["app-config"]);
    const notDb = await api.call(
      "GET",
      `${base}/configmaps?labelSelector=${encodeURIComponent("tier!=db")}`,
      { token },
    );
    expect(notDb.body.items.map((o: J) => o.metadata.name).sort()).toEqual(["app-config", "frozen"]);
    const paged = await api.call("GET", `${base}/configmaps?limit=2`, { token });
    expect(paged.body.items).toHaveLength(2);
    const rest = await api.call("GET", `${base}/configmaps?limit=2&cursor=${paged.body.nextCursor}`, {
      token,
    });
    expect(rest.body.items).toHaveLength(1);
    const del = await api.call("DELETE", `${base}/configmaps/default/other`, { token });
    expect(del.status).toBe(200);
    expect(del.body.metadata.deletionTimestamp).toEqual(expect.any(String));
    const gone = await api.call("GET", `${base}/configmaps/default/other`, { token });
    expect(gone.status).toBe(404);
    expect(gone.body.error.message).toBe('configmaps "other" not found');
  });

  it("serves the same kinds over tRPC (configmaps.upsert/get/list/delete)", async () => {
    const call = async (path: string, input: unknown, method = "POST") => {
      const res =
        method === "GET"
          ? await api.app.request(`/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, {
              headers: { authorization: `Bearer ${token}` },
            })
          : await api.app.request(`/trpc/${path}`, {
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: JSON.stringify(input),
            });
      return { status: res.status, body: (await res.json()) as J };
    };
    const clusterId = base.split("/").at(-1);
    const up = await call("configmaps.upsert", {
      clusterId,
      namespace: "team",
      name: "via-trpc",
      manifest: { data: { a: "b" } },
    });
    expect(up.status).toBe(200);
    expect(up.body.result.data.data).toEqual({ a: "b" });
    const got = await call("configmaps.get", { clusterId, namespace: "team", name: "via-trpc" }, "GET");
    expect(got.body.result.data.metadata.name).toBe("via-trpc");
  });
});

describe("fields no update may change", () => {
  it("refuses a new selector, a Job's new template or completions, a Secret's new type", async () => {
    const dep = await api.call("GET", `${base}/deployments/team/web`, { token });
    const sel = structuredClone(dep.body);
    sel.spec.selector = { matchLabels: { app: "web", v: "2" } };
    sel.spec.template.metadata.labels.v = "2";
    const r = await api.call("PUT", `${base}/deployments/team/web`, { token, body: sel });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe("spec.selector: field is immutable");
    const job = await api.call("GET", `${base}/jobs/team/migrate`, { token });
    const image = structuredClone(job.body);
    image.spec.template.spec.containers[0].image = "localhost/app:2";
    expect(
      (await api.call("PUT", `${base}/jobs/team/migrate`, { token, body: image })).body.error.message,
    ).toBe("spec.template: field is immutable");
    const parallel = structuredClone(job.body);
    parallel.spec.parallelism = 2;
    expect((await api.call("PUT", `${base}/jobs/team/migrate`, { token, body: parallel })).status).toBe(200);
    const tls = await api.call("PUT", `${base}/secrets/team/db`, {
      token,
      body: { type: "kubernetes.io/basic-auth", stringData: { password: "x" } },
    });
    expect(tls.body.error.message).toBe("type: field is immutable");
  });
});

describe("every kind's list and delete", () => {
  it.each(Object.keys(KINDS))("%s: listed, then deleted", async (kind) => {
    const k = KINDS[kind] as (typeof KINDS)[string];
    const name = k.path.split("/").at(-1);
    const list = await api.call("GET", `${base}/${k.path.split("/")[0]}`, { token });
    expect(list.status, list.text).toBe(200);
    expect(list.body.items.map((o: J) => o.metadata.name)).toContain(name);
    const del = await api.call("DELETE", `${base}/${k.path}`, { token });
    expect(del.status, del.text).toBe(kind === "Deployment" ? 202 : 200);
    expect(del.body.metadata).toMatchObject({ name, deletionTimestamp: expect.any(String) });
  });
});
