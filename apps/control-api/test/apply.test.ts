import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";
import { tenantWithCluster, userWith } from "./workload-support";

/** `POST /v1/clusters/{id}/apply`: many documents, admitted together, written together or not at all. */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;
const SHOP = readFileSync(join(import.meta.dirname, "../../../test/fixtures/apply-shop.yaml"), "utf8");
const yaml = { "content-type": "application/yaml" };

let api: TestApi;
let t: Awaited<ReturnType<typeof tenantWithCluster>>;
let base: string;
beforeAll(async () => {
  api = await createTestApi();
  t = await tenantWithCluster(api, "apply");
  base = `/v1/clusters/${t.clusterId}`;
});
afterAll(() => api.close());

const apply = (body: string, opts: { dryRun?: boolean; token?: string; json?: boolean } = {}) =>
  api.call("POST", `${base}/apply${opts.dryRun ? "?dryRun=true" : ""}`, {
    token: opts.token ?? t.token,
    body,
    headers: opts.json ? { "content-type": "application/json" } : yaml,
  });
const get = (path: string) => api.call("GET", `${base}/${path}`, { token: t.token });
const actions = (r: { body: J }) => r.body.items.map((i: J) => `${i.kind} ${i.action}`);

describe("apply of a six-document stream", () => {
  it("dry run: answers what would be created and writes nothing", async () => {
    const r = await apply(SHOP, { dryRun: true });
    expect(r.status, r.text).toBe(200);
    expect(r.body.dryRun).toBe(true);
    expect(actions(r)).toEqual([
      "Namespace created",
      "ConfigMap created",
      "Secret created",
      "Deployment created",
      "Job created",
      "CronJob created",
    ]);
    expect((await get("namespaces/shop")).status).toBe(404);
    expect((await get("deployments/shop/web")).status).toBe(404);
  });

  it("creates all six (the namespace created by the first document holds the other five)", async () => {
    const r = await apply(SHOP);
    expect(r.status, r.text).toBe(200);
    expect(r.body.items).toEqual([
      { kind: "Namespace", namespace: null, name: "shop", action: "created", changedPaths: [] },
      { kind: "ConfigMap", namespace: "shop", name: "greeting", action: "created", changedPaths: [] },
      { kind: "Secret", namespace: "shop", name: "db", action: "created", changedPaths: [] },
      { kind: "Deployment", namespace: "shop", name: "web", action: "created", changedPaths: [] },
      { kind: "Job", namespace: "shop", name: "migrate", action: "created", changedPaths: [] },
      { kind: "CronJob", namespace: "shop", name: "report", action: "created", changedPaths: [] },
    ]);
    expect(r.text).not.toContain("s3cr3t");
    expect((await get("deployments/shop/web")).body.spec.replicas).toBe(2);
  });

  it("answers unchanged for all six the second time, and writes nothing", async () => {
    const before = await get("deployments/shop/web");
    const r = await apply(SHOP);
    expect(actions(r)).toEqual([
      "Namespace unchanged",
      "ConfigMap unchanged",
      "Secret unchanged",
      "Deployment unchanged",
      "Job unchanged",
      "CronJob unchanged",
    ]);
    expect((await get("deployments/shop/web")).body.metadata.resourceVersion).toBe(
      before.body.metadata.resourceVersion,
    );
  });

  it("answers configured with the changed paths when edited; a dry run of the edit writes nothing", async () => {
    const edited = SHOP.replace("replicas: 2", "replicas: 3").replace("hello from the shop", "bonjour");
    const dry = await apply(edited, { dryRun: true });
    expect(dry.body.items.filter((i: J) => i.action === "configured")).toEqual([
      {
        kind: "ConfigMap",
        namespace: "shop",
        name: "greeting",
        action: "configured",
        changedPaths: ["data.GREETING"],
      },
      {
        kind: "Deployment",
        namespace: "shop",
        name: "web",
        action: "configured",
        changedPaths: ["spec.replicas"],
      },
    ]);
    expect((await get("deployments/shop/web")).body.spec.replicas).toBe(2);
    const r = await apply(edited);
    expect(actions(r)).toEqual([
      "Namespace unchanged",
      "ConfigMap configured",
      "Secret unchanged",
      "Deployment configured",
      "Job unchanged",
      "CronJob unchanged",
    ]);
    const web = await get("deployments/shop/web");
    expect(web.body.spec.replicas).toBe(3);
    expect(web.body.metadata.generation).toBe(2);
    const image = await apply(
      edited.replace("demo-web:latest\n          ports", "demo-web:v2\n          ports"),
    );
    expect(image.body.items[3].changedPaths).toEqual([
      "spec.template.spec.containers[0].image",
      "spec.template.spec.containers[0].imagePullPolicy",
    ]);
  });

  it("reads a JSON list too, and tRPC takes the objects themselves", async () => {
    const docs = [
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "j", namespace: "shop" }, data: { a: "b" } },
    ];
    const r = await apply(JSON.stringify({ apiVersion: "v1", kind: "List", items: docs }), { json: true });
    expect(actions(r)).toEqual(["ConfigMap created"]);
    const res = await api.app.request("/trpc/clusters.applyManifests", {
      method: "POST",
      headers: { authorization: `Bearer ${t.token}`, "content-type": "application/json" },
      body: JSON.stringify({ clusterId: t.clusterId, manifests: docs }),
    });
    const body = (await res.json()) as J;
    expect(body.result.data.items[0].action).toBe("unchanged");
  });
});

describe("all or nothing", () => {
  it("writes nothing when any document fails, and names the document and the field", async () => {
    const stream = `apiVersion: v1
kind: ConfigMap
metadata: { name: first, namespace: shop }
data: { a: b }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: big, namespace: shop }
spec:
  replicas: 1e9
  template: { spec: { containers: [{ name: a, image: localhost/a }] } }
`;
    const r = await apply(stream);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/^documents\[1\]\.spec\.replicas: Too big/);
    expect((await get("configmaps/shop/first")).status).toBe(404);
    const unknown = await apply(stream.replace("replicas: 1e9", "replicas: 1\n  replicaz: 2"));
    expect(unknown.body.error.message).toBe('documents[1].spec.replicaz: unknown field "replicaz"');
    expect((await get("configmaps/shop/first")).status).toBe(404);
  });

  it("refuses a document into a namespace that neither exists nor is created earlier in the stream", async () => {
    const stream = `apiVersion: v1
kind: ConfigMap
metadata: { name: a, namespace: later }
---
apiVersion: v1
kind: Namespace
metadata: { name: later }
`;
    const r = await apply(stream);
    expect(r.status).toBe(404);
    expect(r.body.error.message).toBe('documents[0].namespaces "later" not found');
    expect((await get("namespaces/later")).status).toBe(404);
  });

  it("authorises every object on its own name: the caller needs <kind>:Apply on each", async () => {
    const limited = await userWith(api, t.token, {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: "configmap:Apply",
          Resource: `brn:berth:${t.tenantId}:cluster/${t.clusterId}/namespace/shop/configmap/*`,
        },
      ],
    });
    const stream = `apiVersion: v1
kind: ConfigMap
metadata: { name: allowed, namespace: shop }
---
apiVersion: v1
kind: Secret
metadata: { name: not-allowed, namespace: shop }
stringData: { a: b }
`;
    const r = await apply(stream, { token: limited });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(
      /^documents\[1\]: .* is not allowed to secret:Apply on brn:berth:.*\/namespace\/shop\/secret\/not-allowed/,
    );
    expect((await get("configmaps/shop/allowed")).status).toBe(404);
    const ok = await apply(stream.split("---")[0] as string, { token: limited });
    expect(ok.status, ok.text).toBe(200);
  });
});

describe("quotas and LimitRanges at admission", () => {
  it("refuses a write that would exceed a quota, naming it with requested, used and limited", async () => {
    expect((await apply("apiVersion: v1\nkind: Namespace\nmetadata: { name: quota }\n")).status).toBe(200);
    const quota = `apiVersion: v1
kind: ResourceQuota
metadata: { name: pods-and-cpu, namespace: quota }
spec:
  hard: { pods: "3", requests.cpu: "1", configmaps: "1" }
`;
    const deployment = (replicas: number, name = "web") => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: quota }
spec:
  replicas: ${replicas}
  template: { spec: { containers: [{ name: a, image: localhost/a, resources: { requests: { cpu: 200m } } }] } }
`;
    expect((await apply(`${quota}---\n${deployment(2)}`)).status).toBe(200);
    const over = await apply(deployment(2, "more"));
    expect(over.status).toBe(403);
    expect(over.body.error).toMatchObject({
      code: "FORBIDDEN",
      message:
        'documents[0].deployments.apps "more" is forbidden: exceeded quota: pods-and-cpu, requested: pods=2, used: pods=2, limited: pods=3',
    });
    // Scaling the same deployment counts only the difference.
    expect((await apply(deployment(3))).status).toBe(200);
    const cpu = await apply(deployment(6));
    expect(cpu.body.error.message).toBe(
      'documents[0].deployments.apps "web" is forbidden: exceeded quota: pods-and-cpu, requested: pods=3,requests.cpu=600m, used: pods=3,requests.cpu=600m, limited: pods=3,requests.cpu=1',
    );
    const cm = (name: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, namespace: quota }\n`;
    expect((await apply(cm("one"))).status).toBe(200);
    expect((await apply(cm("two"))).body.error.message).toMatch(
      /exceeded quota: pods-and-cpu, requested: configmaps=1, used: configmaps=1, limited: configmaps=1/,
    );
    const status = await get("resourcequotas/quota/pods-and-cpu");
    expect(status.body.status).toEqual({
      hard: { pods: "3", "requests.cpu": "1", configmaps: "1" },
      used: { pods: "3", "requests.cpu": "600m", configmaps: "1" },
    });
  });

  it("gives pods the namespace's LimitRange defaults, applied in the same stream", async () => {
    const r = await apply(`apiVersion: v1
kind: Namespace
metadata: { name: limits }
---
apiVersion: v1
kind: LimitRange
metadata: { name: defaults, namespace: limits }
spec:
  limits:
    - type: Container
      default: { cpu: 400m, memory: 256Mi }
      defaultRequest: { cpu: 200m, memory: 128Mi }
      max: { cpu: "1" }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: limits }
spec:
  template: { spec: { containers: [{ name: a, image: localhost/a }] } }
`);
    expect(r.status, r.text).toBe(200);
    const web = await get("deployments/limits/web");
    expect(web.body.spec.template.spec.containers[0].resources).toEqual({
      requests: { cpu: "200m", memory: "128Mi" },
      limits: { cpu: "400m", memory: "256Mi", "ephemeral-storage": "1Gi" },
    });
    const big = await api.call("PUT", `${base}/deployments/limits/big`, {
      token: t.token,
      body: {
        spec: {
          template: {
            spec: { containers: [{ name: "a", image: "localhost/a", resources: { limits: { cpu: "2" } } }] },
          },
        },
      },
    });
    expect(big.status).toBe(403);
    expect(big.body.error.message).toBe(
      "spec.template.spec.containers[0].resources.limits.cpu: maximum cpu usage per Container is 1, but limit is 2",
    );
  });
});

describe("Pod Security and images: each refusal says its own rule", () => {
  const pod = (container: Record<string, unknown>, spec: Record<string, unknown> = {}) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: bad, namespace: shop }
spec:
  template:
    spec: ${JSON.stringify({ containers: [{ name: "a", image: "localhost/a", ...container }], ...spec })}
`;
  it("refuses a privileged container", async () => {
    const r = await apply(pod({ securityContext: { privileged: true } }));
    expect(r.status).toBe(403);
    expect(r.body.error.message).toBe(
      'documents[0].spec.template.spec.containers[0].securityContext.privileged: privileged containers are not allowed (Pod Security "restricted")',
    );
  });

  it("refuses a hostPath volume", async () => {
    const r = await apply(pod({}, { volumes: [{ name: "root", hostPath: { path: "/" } }] }));
    expect(r.status).toBe(403);
    expect(r.body.error.message).toBe(
      "documents[0].spec.template.spec.volumes[0].hostPath: hostPath volumes are not allowed: they reach into the node (Pod Security: restricted)",
    );
  });

  it("refuses the host's namespaces with 403, as the hostPath volume", async () => {
    const r = await apply(pod({}, { hostNetwork: true }));
    expect(r.status).toBe(403);
    expect(r.body.error.message).toBe(
      "documents[0].spec.template.spec.hostNetwork: hostNetwork is not allowed (Pod Security: restricted)",
    );
  });

  it("refuses an image from a registry the tenant does not allow", async () => {
    const r = await apply(pod({ image: "docker.io/library/nginx:1.27" }));
    expect(r.status).toBe(403);
    expect(r.body.error.message).toBe(
      'documents[0].spec.template.spec.containers[0].image: "docker.io/library/nginx:1.27" (docker.io/library/nginx:1.27) is not from an allowed registry; allowed image prefixes: localhost/',
    );
    const cron = await api.call("PUT", `${base}/cronjobs/shop/c`, {
      token: t.token,
      body: {
        spec: {
          schedule: "@daily",
          jobTemplate: {
            spec: {
              template: {
                spec: { restartPolicy: "Never", containers: [{ name: "a", image: "quay.io/x/y" }] },
              },
            },
          },
        },
      },
    });
    expect(cron.body.error.message).toMatch(
      /^spec\.jobTemplate\.spec\.template\.spec\.containers\[0\]\.image: "quay\.io\/x\/y"/,
    );
  });
});

describe("hostile input", () => {
  it.each([
    ["a YAML alias", "a: &x [1]\nb: *x\n", /aliases/],
    ["a NUL byte", 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: "a\\0b", namespace: shop }\n', /NUL/],
    [
      "deep nesting",
      `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x, namespace: shop }\ndata: ${"[".repeat(60)}${"]".repeat(60)}\n`,
      /nested deeper/,
    ],
    [
      "an unknown kind",
      "apiVersion: v1\nkind: Pod\nmetadata: { name: x }\n",
      /documents\[0\]\.kind: "v1" "Pod" is not a kind Berth serves/,
    ],
    ["an empty stream", "---\n", /no objects to apply/],
    ["not YAML", "{ a: [ }", /not valid YAML/],
    ["a scalar", "42\n", /documents\[0\]: must be an object/],
    [
      "too many documents",
      "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n---\n".repeat(201),
      /at most 200 objects/,
    ],
    [
      "a document twice",
      "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x, namespace: shop }\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: x, namespace: shop }\n",
      /appears twice/,
    ],
  ])("answers %s with 400 in the one envelope", async (_what, body, message) => {
    const r = await apply(body);
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.code).toBe("VALIDATION_FAILED");
    expect(r.body.error.message).toMatch(message);
  });

  it("refuses a body that is neither YAML nor JSON with 415", async () => {
    const r = await api.call("POST", `${base}/apply`, {
      token: t.token,
      body: "x",
      headers: { "content-type": "text/plain" },
    });
    expect(r.status).toBe(415);
  });
});
