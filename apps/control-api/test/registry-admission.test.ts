import { generateMasterKey } from "@berth/core";
import { clusters, tenants, withSystem } from "@berth/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEnv } from "../src/env";
import { createTestApi, type TestApi } from "../src/testing";

/**
 * Admission of images of Berth's own registry (REGISTRY_HOST): the tenant's namespace and
 * `library/` whatever the image prefixes say; another tenant's namespace never.
 */
const HOST = "registry.berth.test:5000";
let api: TestApi;
let token: string;
let tenantId: string;
let clusterId: string;
beforeAll(async () => {
  api = await createTestApi({ registryHost: HOST });
  ({ token, tenantId } = await api.tenant("registry-admission"));
  const c = await api.call("POST", "/v1/clusters", { token, body: { name: "c" } });
  clusterId = c.body.id;
  // No provisioner runs here: the cluster is made active directly.
  await withSystem(api.deps.db, (tx) =>
    tx.update(clusters).set({ status: "active" }).where(eq(clusters.id, clusterId)),
  );
});
afterAll(() => api.close());

const put = (name: string, image: string, init?: string) =>
  api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/${name}`, {
    token,
    body: {
      spec: {
        replicas: 1,
        template: {
          spec: {
            ...(init ? { initContainers: [{ name: "init", image: init }] } : {}),
            containers: [{ name: "app", image }],
          },
        },
      },
    },
  });

describe("images of Berth's registry", () => {
  it("allows the tenant's own namespace and library/ although the platform's prefixes are localhost/ only", async () => {
    expect((await put("own", `${HOST}/${tenantId}/web:v1`)).status).toBe(200);
    expect((await put("lib", `${HOST}/library/demo-web`)).status).toBe(200);
    expect((await put("nested", `${HOST}/${tenantId}/team/web@sha256:${"a".repeat(64)}`)).status).toBe(200);
  });

  it("refuses another tenant's namespace with 403 naming the field and what is allowed", async () => {
    const r = await put("theirs", "localhost/app:1", `${HOST}/ten_01someoneelse0000000000000/web:v1`);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("FORBIDDEN");
    expect(r.body.error.message).toBe(
      `spec.template.spec.initContainers[0].image: "${HOST}/ten_01someoneelse0000000000000/web:v1" is not in this tenant's namespace of Berth's registry: pods may use ${HOST}/${tenantId}/… and ${HOST}/library/…`,
    );
    // A repository without a namespace is no one's.
    expect((await put("bare", `${HOST}/web:v1`)).status).toBe(403);
  });

  it("refuses another tenant's namespace even when the tenant's own prefixes name the registry", async () => {
    await withSystem(api.deps.db, (tx) =>
      tx
        .update(tenants)
        .set({ allowedImagePrefixes: [`${HOST}/`] })
        .where(eq(tenants.id, tenantId)),
    );
    try {
      expect((await put("wide", `${HOST}/ten_01someoneelse0000000000000/web:v1`)).status).toBe(403);
      expect((await put("wide", `${HOST}/${tenantId}/web:v1`)).status).toBe(200);
    } finally {
      await withSystem(api.deps.db, (tx) =>
        tx.update(tenants).set({ allowedImagePrefixes: null }).where(eq(tenants.id, tenantId)),
      );
    }
  });

  it("reads REGISTRY_HOST and refuses one that image names would not read as a host", () => {
    const base = { BERTH_MASTER_KEY: generateMasterKey() };
    expect(parseEnv({ ...base, REGISTRY_HOST: "127.0.0.1:55000" }).REGISTRY_HOST).toBe("127.0.0.1:55000");
    expect(parseEnv(base).REGISTRY_HOST).toBeUndefined();
    expect(() => parseEnv({ ...base, REGISTRY_HOST: "registry" })).toThrow(
      /REGISTRY_HOST: "registry" would be read/,
    );
    expect(() => parseEnv({ ...base, REGISTRY_HOST: "http://127.0.0.1:55000" })).toThrow(/REGISTRY_HOST/);
  });
});
