import { generateMasterKey } from "@berth/core";
import { clusters, deployments, tenants, withSystem } from "@berth/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEnv } from "../src/env";
import { createTestApi, type TestApi } from "../src/testing";

/** Admission of deployments: every quantity bounded, limits the runtime can honour, allowed images only. */
let api: TestApi;
let token: string;
let tenantId: string;
let clusterId: string;
beforeAll(async () => {
  api = await createTestApi();
  ({ token, tenantId } = await api.tenant("admission"));
  const c = await api.call("POST", "/v1/clusters", { token, body: { name: "c" } });
  clusterId = c.body.id;
  // No provisioner runs here: the cluster is made active directly.
  await withSystem(api.deps.db, (tx) =>
    tx.update(clusters).set({ status: "active" }).where(eq(clusters.id, clusterId)),
  );
});
afterAll(() => api.close());

type Container = Record<string, unknown>;
const manifest = (container: Container, spec: Record<string, unknown> = {}) => ({
  spec: {
    replicas: 1,
    ...spec,
    template: { spec: { containers: [{ name: "app", image: "localhost/app:1", ...container }] } },
  },
});
const put = (name: string, body: unknown, headers?: Record<string, string>) =>
  api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/${name}`, {
    token,
    body,
    ...(headers ? { headers } : {}),
  });
const stored = async (name: string) => {
  const [d] = await withSystem(api.deps.db, (tx) =>
    tx.select().from(deployments).where(eq(deployments.name, name)),
  );
  return d;
};
const resources = (requests?: Record<string, unknown>, limits?: Record<string, unknown>) => ({
  resources: { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) },
});

function expect400(r: { status: number; body: { error: { code: string; message: string } } }, field: RegExp) {
  expect(r.status, JSON.stringify(r.body)).toBe(400);
  expect(r.body.error.code).toBe("VALIDATION_FAILED");
  expect(r.body.error.message).toMatch(field);
}

describe("quantities are bounded by what a node can have", () => {
  it("refuses a CPU request no node can offer (the 32-bit overflow probe), naming the field", async () => {
    const r = await put("huge", manifest(resources({ cpu: "2147484" })));
    expect400(
      r,
      /^spec\.template\.spec\.containers\[0\]\.resources\.requests\.cpu: 2147484 is more than the largest node offers \(1024 CPUs\)/,
    );
    expect(await stored("huge")).toBeUndefined();
  });

  it("refuses memory beyond the largest node (16Ti)", async () => {
    const r = await put("mem", manifest(resources({ memory: "17Ti" })));
    expect400(
      r,
      /containers\[0\]\.resources\.requests\.memory: 17Ti is more than the largest node offers \(16Ti\)/,
    );
  });

  it.each([
    ["replicas: 1e9", { replicas: 1e9 }, /spec\.replicas/],
    ["negative replicas", { replicas: -1 }, /spec\.replicas/],
    ["fractional replicas", { replicas: 1.5 }, /spec\.replicas/],
    ["a huge maxSurge", { strategy: { rollingUpdate: { maxSurge: 1e12 } } }, /maxSurge/],
  ])("refuses %s naming the field", async (_what, spec, field) => {
    expect400(await put("absurd", manifest({}, spec)), field);
  });

  it.each([
    ["an exponent", "1e3"],
    ["a negative number", "-1"],
    ["NaN", "NaN"],
    ["Infinity", "Infinity"],
    ["fractional millicores", "0.5m"],
    ["a huge integer", "99999999999999999999999999999999"],
  ])("refuses a CPU quantity with %s", async (_what, cpu) => {
    expect400(await put("absurd", manifest(resources({ cpu }))), /containers\[0\]\.resources\.requests\.cpu/);
  });

  it("refuses YAML's .nan and .inf", async () => {
    const yaml = (v: string) =>
      `spec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: localhost/app\n          resources: { requests: { memory: ${v} } }\n`;
    for (const v of [".nan", ".inf", "-.inf"])
      expect((await put("yaml", yaml(v), { "content-type": "application/yaml" })).status).toBe(400);
  });

  it("refuses a pod whose containers together exceed the largest node", async () => {
    const containers = Array.from({ length: 8 }, (_, i) => ({
      name: `c${i}`,
      image: "localhost/app",
      resources: { requests: { cpu: "200" } },
    }));
    const r = await put("wide", { spec: { template: { spec: { containers } } } });
    expect400(r, /^spec\.template\.spec\.containers: the containers' cpu limits add up to 1600/);
  });

  it("refuses replicas × a pod's memory beyond exact integer arithmetic", async () => {
    const r = await put("many", manifest(resources({ memory: "16Ti" }), { replicas: 1000 }));
    expect400(r, /^spec\.replicas: /);
  });
});

describe("limits the runtime can honour, tied to requests", () => {
  it("refuses a 1m CPU limit defaulted from the request, saying the minimum is 10m", async () => {
    const r = await put("tiny", manifest(resources({ cpu: "1m" })));
    expect400(r, /requests\.cpu: the smallest cpu limit a container can have is 10m/);
  });

  it("refuses a given CPU limit under 10m", async () => {
    expect400(await put("tiny", manifest(resources({ cpu: "5m" }, { cpu: "9m" }))), /limits\.cpu: .*10m/);
  });

  it("refuses limits of the whole node on tiny requests, naming the field and the ratio", async () => {
    const r = await put(
      "greedy",
      manifest(resources({ cpu: "1m", memory: "4Mi" }, { cpu: "1000", memory: "16Gi" })),
    );
    expect400(r, /containers\[0\]\.resources\.limits\.cpu: .*maxLimitRequestRatio\) for cpu is 4/);
    const m = await put(
      "greedy",
      manifest(resources({ cpu: "1", memory: "4Mi" }, { cpu: "2", memory: "16Gi" })),
    );
    expect400(
      m,
      /containers\[0\]\.resources\.limits\.memory: 16Gi is more than 4 × requests\.memory \(4Mi\)/,
    );
  });

  it("refuses limits above the largest node", async () => {
    expect400(
      await put("greedy", manifest(resources({ cpu: "1000" }, { cpu: "2000" }))),
      /limits\.cpu: 2000 is more than the largest node/,
    );
  });

  it("accepts a limit within the ratio and stores requests, limits and ephemeral storage", async () => {
    const r = await put(
      "fair",
      manifest(resources({ cpu: "250m", memory: "64Mi" }, { cpu: "1", memory: "256Mi" })),
    );
    expect(r.status, r.text).toBe(200);
    const d = await stored("fair");
    expect(d?.template.containers[0]).toMatchObject({
      resources: { cpuMillis: 250, memoryBytes: 64 * 1024 ** 2 },
      limits: { cpuMillis: 1000, memoryBytes: 256 * 1024 ** 2, ephemeralStorageBytes: 1024 ** 3 },
    });
  });

  it("takes requests from limits when only limits are given, as Kubernetes does", async () => {
    const r = await put("limited", manifest(resources(undefined, { cpu: "2", memory: "1Gi" })));
    expect(r.status, r.text).toBe(200);
    expect((await stored("limited"))?.template.containers[0]).toMatchObject({
      resources: { cpuMillis: 2000, memoryBytes: 1024 ** 3 },
      limits: { cpuMillis: 2000, memoryBytes: 1024 ** 3 },
    });
  });

  it("stores a given ephemeral-storage limit and refuses one out of bounds", async () => {
    const ok = await put(
      "disk",
      manifest(resources({ "ephemeral-storage": "512Mi" }, { "ephemeral-storage": "2Gi" })),
    );
    expect(ok.status, ok.text).toBe(200);
    expect((await stored("disk"))?.template.containers[0]?.limits.ephemeralStorageBytes).toBe(2 * 1024 ** 3);
    expect400(
      await put("disk2", manifest(resources(undefined, { "ephemeral-storage": "2Ti" }))),
      /limits\.ephemeral-storage: must be within 1Mi\.\.1Ti/,
    );
    expect400(
      await put("disk2", manifest(resources({ "ephemeral-storage": "4Gi" }, { "ephemeral-storage": "2Gi" }))),
      /limits\.ephemeral-storage: limits must not be below requests/,
    );
  });

  it("accepts what `kubectl create deployment --dry-run=client -o yaml` writes", async () => {
    const yaml = `apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app: web
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  strategy: {}
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - image: localhost/x
        name: x
        resources: {}
`;
    const r = await put("web", yaml, { "content-type": "application/yaml" });
    expect(r.status, r.text).toBe(200);
    expect(r.body.status.conditions).toEqual([]);
    expect((await stored("web"))?.template.containers[0]).toMatchObject({
      image: "localhost/x:latest",
      resources: { cpuMillis: 100, memoryBytes: 128 * 1024 ** 2 },
      limits: { cpuMillis: 100, memoryBytes: 128 * 1024 ** 2 },
    });
  });
});

describe("images come only from allowed registries", () => {
  it("refuses a pull from a loopback service with 403, naming the field and the allowed list", async () => {
    const r = await put("probe", manifest({ image: "127.0.0.1:55432/probe" }));
    expect(r.status).toBe(403);
    expect(r.body.error.message).toBe(
      'spec.template.spec.containers[0].image: "127.0.0.1:55432/probe" (127.0.0.1:55432/probe:latest) is not from an allowed registry; allowed image prefixes: localhost/',
    );
    expect(await stored("probe")).toBeUndefined();
  });

  it("refuses Docker Hub short names under the default list", async () => {
    const r = await put("hub", manifest({ image: "nginx" }));
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(/"nginx" \(docker\.io\/library\/nginx:latest\)/);
  });

  it("refuses a malformed reference with 400 naming the field", async () => {
    expect400(
      await put("bad", manifest({ image: "Localhost/App" })),
      /^spec\.template\.spec\.containers\[0\]\.image: "Localhost\/App" is not a valid image reference/,
    );
  });

  it("applies the tenant's own list instead of the platform's, and stores the normalised reference", async () => {
    await withSystem(api.deps.db, (tx) =>
      tx
        .update(tenants)
        .set({ allowedImagePrefixes: ["docker.io/library/"] })
        .where(eq(tenants.id, tenantId)),
    );
    try {
      const ok = await put("hub", manifest({ image: "nginx:1.27" }));
      expect(ok.status, ok.text).toBe(200);
      expect((await stored("hub"))?.template.containers[0]?.image).toBe("docker.io/library/nginx:1.27");
      const local = await put("local", manifest({ image: "localhost/app" }));
      expect(local.status).toBe(403);
      expect(local.body.error.message).toMatch(/allowed image prefixes: docker\.io\/library\/$/);
    } finally {
      await withSystem(api.deps.db, (tx) =>
        tx.update(tenants).set({ allowedImagePrefixes: null }).where(eq(tenants.id, tenantId)),
      );
    }
  });

  it("lets a tenant set its own list through PATCH /v1/tenant, validated, and go back to the platform's", async () => {
    const bad = await api.call("PATCH", "/v1/tenant", { token, body: { allowedImagePrefixes: ["nginx"] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/allowedImagePrefixes\.0/);
    const set = await api.call("PATCH", "/v1/tenant", {
      token,
      body: { allowedImagePrefixes: ["docker.io/library/"] },
    });
    expect(set.status, set.text).toBe(200);
    expect(set.body.effectiveImagePrefixes).toEqual(["docker.io/library/"]);
    expect((await put("via-api", manifest({ image: "localhost/app" }))).status).toBe(403);
    const reset = await api.call("PATCH", "/v1/tenant", { token, body: { allowedImagePrefixes: null } });
    expect(reset.body.effectiveImagePrefixes).toEqual(["localhost/"]);
    expect((await put("via-api", manifest({ image: "localhost/app" }))).status).toBe(200);
  });

  it("reads the platform's list from ALLOWED_IMAGE_PREFIXES and refuses a bad one at start", () => {
    const base = { BERTH_MASTER_KEY: generateMasterKey() };
    expect(parseEnv(base).ALLOWED_IMAGE_PREFIXES).toEqual(["localhost/"]);
    expect(
      parseEnv({ ...base, ALLOWED_IMAGE_PREFIXES: "localhost/, ghcr.io/acme/" }).ALLOWED_IMAGE_PREFIXES,
    ).toEqual(["localhost/", "ghcr.io/acme/"]);
    expect(() => parseEnv({ ...base, ALLOWED_IMAGE_PREFIXES: "localhost/,nginx" })).toThrow(
      /ALLOWED_IMAGE_PREFIXES: "nginx"/,
    );
  });
});
