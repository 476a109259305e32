import { deployments, persistentVolumes, withSystem, withTenant } from "@berth/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";
import { addNode, addPod, tenantWithCluster } from "./workload-support";

/** PersistentVolumeClaims through the workload API: validation, ReadWriteOnce only, pvc-protection, isolation. */
// biome-ignore lint/suspicious/noExplicitAny: tests read and edit JSON replies freely; the assertions check them
type J = any;
let api: TestApi;
let t: Awaited<ReturnType<typeof tenantWithCluster>>;
let base: string;

const claim = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, ...spec },
});
const put = (name: string, body: unknown, token = t.token) =>
  api.call("PUT", `${base}/persistentvolumeclaims/default/${name}`, { token, body });

beforeAll(async () => {
  api = await createTestApi();
  t = await tenantWithCluster(api, "claims");
  base = `/v1/clusters/${t.clusterId}`;
});
afterAll(() => api.close());

describe("a PersistentVolumeClaim", () => {
  it("is stored Pending with its finalizer, in Kubernetes' shape, and a GET PUT back changes nothing", async () => {
    const r = await put("data", claim("data", { storageClassName: "local-vm" }));
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "data", namespace: "default", finalizers: ["kubernetes.io/pvc-protection"] },
      spec: {
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: "1Gi" } },
        storageClassName: "local-vm",
        volumeMode: "Filesystem",
      },
      status: { phase: "Pending" },
    });
    const got = await api.call("GET", `${base}/persistentvolumeclaims/default/data`, { token: t.token });
    const again = await put("data", got.body);
    expect(again.status, again.text).toBe(200);
    expect(again.body.metadata.resourceVersion).toBe(got.body.metadata.resourceVersion);
    const list = await api.call("GET", `${base}/persistentvolumeclaims?namespace=default`, {
      token: t.token,
    });
    expect(list.body.items.map((x: J) => x.metadata.name)).toContain("data");
  });

  it("accepts ReadWriteOnce only: another access mode is a 422 with its own code", async () => {
    for (const mode of ["ReadWriteMany", "ReadOnlyMany", "ReadWriteOncePod"]) {
      const r = await put("shared", claim("shared", { accessModes: ["ReadWriteOnce", mode] }));
      expect(r.status, r.text).toBe(422);
      expect(r.body.error.code).toBe("UNSUPPORTED_ACCESS_MODE");
      expect(r.body.error.message).toContain(`${mode} is not supported`);
    }
    const none = await put("none", claim("none", { accessModes: [] }));
    expect(none.status).toBe(400);
  });

  it("refuses sizes out of bounds or not quantities, and fields Berth has no use for", async () => {
    const big = await put("big", claim("big", { resources: { requests: { storage: "101Gi" } } }));
    expect(big.status, big.text).toBe(400);
    expect(big.body.error.message).toContain(
      "spec.resources.requests.storage: must be between 16Mi and 100Gi",
    );
    const tiny = await put("tiny", claim("tiny", { resources: { requests: { storage: "1Mi" } } }));
    expect(tiny.status).toBe(400);
    const words = await put("words", claim("words", { resources: { requests: { storage: "lots" } } }));
    expect(words.status).toBe(400);
    expect(words.body.error.message).toContain("is not a memory quantity");
    const block = await put("block", claim("block", { volumeMode: "Block" }));
    expect(block.status).toBe(400);
    const selector = await put("sel", claim("sel", { selector: { matchLabels: { a: "b" } } }));
    expect(selector.status).toBe(400);
    expect(selector.body.error.message).toContain("selector is not supported");
  });

  it("keeps its spec: a disk does not resize", async () => {
    const r = await put(
      "data",
      claim("data", { storageClassName: "local-vm", resources: { requests: { storage: "2Gi" } } }),
    );
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.message).toContain("spec.resources: field is immutable");
  });

  it("is mounted by pod templates as a persistentVolumeClaim volume", async () => {
    const r = await api.call("PUT", `${base}/deployments/default/db`, {
      token: t.token,
      body: {
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "db" } },
          template: {
            metadata: { labels: { app: "db" } },
            spec: {
              containers: [
                {
                  name: "db",
                  image: "localhost/db:1",
                  volumeMounts: [{ name: "data", mountPath: "/var/lib/db" }],
                },
              ],
              volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }],
            },
          },
        },
      },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.spec.template.spec.volumes).toEqual([
      { name: "data", persistentVolumeClaim: { claimName: "data" } },
    ]);
    const two = await api.call("PUT", `${base}/deployments/default/bad`, {
      token: t.token,
      body: {
        spec: {
          template: {
            spec: {
              containers: [{ name: "x", image: "localhost/x:1" }],
              volumes: [{ name: "v", persistentVolumeClaim: { claimName: "data" }, emptyDir: {} }],
            },
          },
        },
      },
    });
    expect(two.status).toBe(400);
    expect(two.body.error.message).toContain(
      "exactly one of configMap, secret, emptyDir or persistentVolumeClaim",
    );
  });

  it("is not deleted while a pod mounts it (kubernetes.io/pvc-protection); one nothing uses goes at once", async () => {
    const [d] = await withSystem(api.deps.db, (tx) =>
      tx.select().from(deployments).where(eq(deployments.name, "db")),
    );
    const nodeId = await addNode(api, t.tenantId, t.clusterId);
    await addPod(api, {
      ...t,
      namespace: "default",
      name: "db-abc12",
      template: d?.template as never,
      owner: { kind: "Deployment", id: d?.id as string },
      nodeId,
    });
    const del = await api.call("DELETE", `${base}/persistentvolumeclaims/default/data`, { token: t.token });
    expect(del.status, del.text).toBe(200);
    expect(del.body.metadata.deletionTimestamp).toEqual(expect.any(String));
    const still = await api.call("GET", `${base}/persistentvolumeclaims/default/data`, { token: t.token });
    expect(still.status).toBe(200);
    expect(still.body.metadata.deletionTimestamp).toBe(del.body.metadata.deletionTimestamp);
    const events = await api.call("GET", `${base}/events?involvedObject=PersistentVolumeClaim/data`, {
      token: t.token,
    });
    expect(events.body.items.map((e: J) => [e.reason, e.message])).toContainEqual([
      "ClaimInUse",
      "deletion deferred by kubernetes.io/pvc-protection: used by pod(s) db-abc12",
    ]);

    expect((await put("spare", claim("spare"))).status).toBe(200);
    const gone = await api.call("DELETE", `${base}/persistentvolumeclaims/default/spare`, { token: t.token });
    expect(gone.status).toBe(200);
    expect(
      (await api.call("GET", `${base}/persistentvolumeclaims/default/spare`, { token: t.token })).status,
    ).toBe(404);
  });

  it("belongs to its tenant: another cannot read it, and its disk's row is invisible to other tenants (RLS)", async () => {
    const other = await tenantWithCluster(api, "claims-other");
    const read = await api.call("GET", `${base}/persistentvolumeclaims/default/data`, { token: other.token });
    expect(read.status).toBe(404);
    const write = await put("data", claim("data"), other.token);
    expect(write.status).toBe(404);
    const got = await api.call("GET", `${base}/persistentvolumeclaims/default/data`, { token: t.token });
    await withSystem(api.deps.db, (tx) =>
      tx.insert(persistentVolumes).values({
        claimId: got.body.metadata.uid,
        tenantId: t.tenantId,
        clusterId: t.clusterId,
        namespace: "default",
        claimName: "data",
        provider: "local-vm",
        sizeBytes: 1024 ** 3,
      }),
    );
    const mine = await withTenant(api.deps.db, t.tenantId, (tx) => tx.select().from(persistentVolumes));
    const theirs = await withTenant(api.deps.db, other.tenantId, (tx) => tx.select().from(persistentVolumes));
    expect(mine.map((v) => v.claimName)).toEqual(["data"]);
    expect(theirs).toEqual([]);
    await expect(
      withTenant(api.deps.db, other.tenantId, (tx) =>
        tx.insert(persistentVolumes).values({
          claimId: "obj_forged",
          tenantId: t.tenantId,
          clusterId: t.clusterId,
          namespace: "default",
          claimName: "forged",
          provider: "local-vm",
          sizeBytes: 1,
        }),
      ),
    ).rejects.toThrow();
  });
});
