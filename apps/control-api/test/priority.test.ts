import { deployments, withSystem } from "@berth/db";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";
import { addPod, tenantWithCluster } from "./workload-support";

/** PriorityClass (scheduling.k8s.io/v1) and PodDisruptionBudget (policy/v1), and Priority admission. */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;
let api: TestApi;
let token: string;
let tenantId: string;
let clusterId: string;
let base: string;
beforeAll(async () => {
  api = await createTestApi();
  const t = await tenantWithCluster(api, "priority");
  token = t.token;
  tenantId = t.tenantId;
  clusterId = t.clusterId;
  base = `/v1/clusters/${clusterId}`;
});
afterAll(() => api.close());

const put = (path: string, body: unknown) => api.call("PUT", `${base}/${path}`, { token, body });
const priorityClass = (name: string, value: number, more: Record<string, unknown> = {}) =>
  put(`priorityclasses/${name}`, {
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    metadata: { name },
    value,
    ...more,
  });
const deployment = (name: string, podSpec: Record<string, unknown> = {}, replicas = 1) =>
  put(`deployments/default/${name}`, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image: "localhost/app:1" }], ...podSpec },
      },
    },
  });
const storedTemplate = async (name: string) => {
  const [d] = await withSystem(api.deps.db, (tx) =>
    tx
      .select()
      .from(deployments)
      .where(and(eq(deployments.clusterId, clusterId), eq(deployments.name, name))),
  );
  return d?.template;
};

describe("PriorityClass", () => {
  it("is cluster-scoped, shown in Kubernetes' shape with its defaults", async () => {
    const r = await priorityClass("batch-low", -10, { description: "may wait" });
    expect(r.status, r.text).toBe(200);
    const got = await api.call("GET", `${base}/priorityclasses/batch-low`, { token });
    expect(got.body).toMatchObject({
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name: "batch-low" },
      value: -10,
      preemptionPolicy: "PreemptLowerPriority",
      description: "may wait",
    });
    expect(got.body.metadata).not.toHaveProperty("namespace");
    expect(got.body).not.toHaveProperty("globalDefault");
    const list = await api.call("GET", `${base}/priorityclasses`, { token });
    expect(list.body.items.map((i: J) => i.metadata.name)).toContain("batch-low");
    const ns = await put("priorityclasses/x", {
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name: "x", namespace: "default" },
      value: 1,
    });
    expect(ns.status).toBe(400);
  });

  it("refuses what Kubernetes refuses: system- names, values above 1e9, a changed value, a second default", async () => {
    const system = await priorityClass("system-mine", 1);
    expect(system.status).toBe(400);
    expect(system.body.error.message).toBe(
      "metadata.name: priority class names with 'system-' prefix are reserved",
    );
    const high = await priorityClass("too-high", 1_000_000_001);
    expect(high.status).toBe(400);
    expect(high.body.error.message).toBe(
      "value: maximum allowed value of a user defined priority is 1000000000",
    );
    expect((await priorityClass("fixed", 5)).status).toBe(200);
    const changed = await priorityClass("fixed", 6);
    expect(changed.status).toBe(400);
    expect(changed.body.error.message).toBe("value: field is immutable");
    expect((await priorityClass("normal", 100, { globalDefault: true })).status).toBe(200);
    const second = await priorityClass("other-default", 200, { globalDefault: true });
    expect(second.status).toBe(403);
    expect(second.body.error.message).toMatch(
      /PriorityClass normal is already marked as default\. Only one default can exist$/,
    );
  });
});

describe("Priority admission of pod templates", () => {
  it("gives a pod template its class's value and policy", async () => {
    expect((await priorityClass("critical", 100_000, { preemptionPolicy: "Never" })).status).toBe(200);
    const r = await deployment("api", { priorityClassName: "critical" });
    expect(r.status, r.text).toBe(200);
    expect(r.body.spec.template.spec).toMatchObject({
      priorityClassName: "critical",
      priority: 100_000,
      preemptionPolicy: "Never",
    });
    expect(await storedTemplate("api")).toMatchObject({
      priority: 100_000,
      priorityClassName: "critical",
      preemptionPolicy: "Never",
    });
  });

  it("refuses an unknown class, naming it, as Kubernetes does", async () => {
    const r = await deployment("ghost", { priorityClassName: "no-such-class" });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("FORBIDDEN");
    expect(r.body.error.message).toBe(
      "spec.template.spec.priorityClassName: no PriorityClass with name no-such-class was found",
    );
  });

  it("refuses a priority that is not the class's", async () => {
    const r = await deployment("liar", { priorityClassName: "critical", priority: 5 });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(
      /the integer value of priority \(5\) must not be provided in pod spec; priority admission controller computed 100000 from the given PriorityClass name$/,
    );
  });

  it("applies the global default when no class is named; Berth's `priority` shorthand still wins", async () => {
    // "normal" (100) is the global default (above).
    const plain = await deployment("plain");
    expect(plain.status, plain.text).toBe(200);
    expect(await storedTemplate("plain")).toMatchObject({ priority: 100, priorityClassName: "normal" });
    const shorthand = await deployment("shorthand", { priority: 7 });
    expect(shorthand.status, shorthand.text).toBe(200);
    const t = await storedTemplate("shorthand");
    expect(t?.priority).toBe(7);
    expect(t).not.toHaveProperty("priorityClassName");
  });

  it("sees a class created earlier in the same apply", async () => {
    const r = await api.call("POST", `${base}/apply`, {
      token,
      body: [
        { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: "fresh" }, value: 42 },
        {
          apiVersion: "batch/v1",
          kind: "Job",
          metadata: { name: "once" },
          spec: {
            template: {
              spec: {
                restartPolicy: "Never",
                priorityClassName: "fresh",
                containers: [{ name: "a", image: "localhost/app:1" }],
              },
            },
          },
        },
      ],
    });
    expect(r.status, r.text).toBe(200);
    const job = await api.call("GET", `${base}/jobs/default/once`, { token });
    expect(job.body.spec.template.spec).toMatchObject({ priorityClassName: "fresh", priority: 42 });
  });
});

describe("PodDisruptionBudget", () => {
  const budget = (name: string, spec: Record<string, unknown>) =>
    put(`poddisruptionbudgets/default/${name}`, {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name },
      spec,
    });

  it("refuses minAvailable and maxUnavailable together, and percentages over 100%", async () => {
    const both = await budget("both", { minAvailable: 1, maxUnavailable: 1, selector: {} });
    expect(both.status).toBe(400);
    expect(both.body.error.message).toBe("spec: minAvailable and maxUnavailable cannot be both set");
    const over = await budget("over", { maxUnavailable: "101%", selector: {} });
    expect(over.status).toBe(400);
    expect(over.body.error.message).toBe("spec.maxUnavailable: must not be greater than 100%");
    const negative = await budget("negative", { minAvailable: -1, selector: {} });
    expect(negative.status).toBe(400);
    expect(negative.body.error.message).toBe("spec.minAvailable: must be greater than or equal to 0");
  });

  it("shows its status from the pods it selects now", async () => {
    const d = await deployment("cache", {}, 4);
    expect(d.status, d.text).toBe(200);
    const [row] = await withSystem(api.deps.db, (tx) =>
      tx
        .select()
        .from(deployments)
        .where(and(eq(deployments.clusterId, clusterId), eq(deployments.name, "cache"))),
    );
    if (!row) throw new Error("no deployment");
    // Four pods, three of them ready; one pod of another app.
    for (let i = 0; i < 4; i++) {
      const id = await addPod(api, {
        tenantId,
        clusterId,
        namespace: "default",
        name: `cache-${i}`,
        template: row.template,
        owner: { kind: "Deployment", id: row.id },
        labels: { app: "cache" },
      });
      if (i < 3)
        await withSystem(api.deps.db, (tx) =>
          tx.execute(`update pods set ready = true, phase = 'Running' where id = '${id}'`),
        );
    }
    await addPod(api, {
      tenantId,
      clusterId,
      namespace: "default",
      name: "other-0",
      template: row.template,
      owner: { kind: "Job", id: "job_x" },
      labels: { app: "other" },
    });
    const status = async (name: string) =>
      (await api.call("GET", `${base}/poddisruptionbudgets/default/${name}`, { token })).body.status;
    const min = await budget("cache-min", { minAvailable: 2, selector: { matchLabels: { app: "cache" } } });
    expect(min.status, min.text).toBe(200);
    expect(await status("cache-min")).toMatchObject({
      currentHealthy: 3,
      desiredHealthy: 2,
      disruptionsAllowed: 1,
      expectedPods: 4,
      conditions: [{ type: "DisruptionAllowed", status: "True", reason: "SufficientPods" }],
    });
    await budget("cache-max", { maxUnavailable: "25%", selector: { matchLabels: { app: "cache" } } });
    expect(await status("cache-max")).toMatchObject({
      currentHealthy: 3,
      desiredHealthy: 3,
      disruptionsAllowed: 0,
      expectedPods: 4,
      conditions: [{ type: "DisruptionAllowed", status: "False", reason: "InsufficientPods" }],
    });
    await budget("no-selector", { minAvailable: 0 });
    expect(await status("no-selector")).toMatchObject({
      currentHealthy: 0,
      expectedPods: 0,
      disruptionsAllowed: 0,
    });
  });
});
