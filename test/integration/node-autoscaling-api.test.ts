import { systemRows } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "./harness";

/**
 * The node autoscaler's settings through the API (a pool's `autoscaling`, a cluster's
 * `autoscalerProfile`) and its word to a tenant about pods it cannot help: every pool's reason.
 */
let p: Platform;
let token: string;
let clusterId: string;
beforeAll(async () => {
  p = await startPlatform();
  ({ token } = await p.api.tenant("autoscaling-api"));
  clusterId = await p.activeCluster(token, "c");
});
afterAll(() => p.close());

const call = (method: string, path: string, body?: unknown) => p.api.call(method, path, { token, body });
const poolsPath = () => `/v1/clusters/${clusterId}/node-pools`;

describe("a pool's autoscaling", () => {
  it("is refused for a byo pool, with the reason", async () => {
    const r = await call("POST", poolsPath(), {
      name: "mine",
      provider: "byo",
      autoscaling: { enabled: true, minSize: 0, maxSize: 3 },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("VALIDATION_FAILED");
    expect(r.body.error.message).toMatch(/^a byo pool's machines are yours: Berth cannot add or remove them/);
    expect(r.body.error.issues).toEqual([{ path: "autoscaling.enabled", message: "not for byo pools" }]);
  });

  it("owns the desired size while enabled: a user's desiredSize is a conflict until it is turned off", async () => {
    const created = await call("POST", poolsPath(), {
      name: "elastic",
      provider: "ec2",
      instanceType: "small",
      autoscaling: { enabled: true, minSize: 0, maxSize: 4, priority: 5 },
    });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({
      minSize: 0,
      maxSize: 4,
      desiredSize: 0,
      autoscaling: { enabled: true, minSize: 0, maxSize: 4, priority: 5 },
    });
    const path = `${poolsPath()}/${created.body.id}`;
    const set = await call("PATCH", path, { desiredSize: 2 });
    expect(set.status).toBe(409);
    expect(set.body.error.message).toMatch(/is autoscaled: its size follows its pods' needs/);
    // Raising the minimum brings the desired size up with it.
    expect((await call("PATCH", path, { autoscaling: { minSize: 1 } })).body).toMatchObject({
      desiredSize: 1,
      autoscaling: { enabled: true, minSize: 1, maxSize: 4 },
    });
    const off = await call("PATCH", path, { autoscaling: { enabled: false } });
    expect(off.body.autoscaling.enabled).toBe(false);
    expect((await call("PATCH", path, { desiredSize: 0, minSize: 0 })).body.desiredSize).toBe(0);
    const reasons = (
      await systemRows(
        p.api.deps.db,
        sql`select reason from events where cluster_id = ${clusterId} and object_name = 'elastic' order by created_at`,
      )
    ).map((e) => e.reason);
    // The API's own events (the machine controller adds ScalingUp for the minimum of 1 meanwhile).
    expect(reasons.filter((r) => r !== "ScalingUp")).toEqual([
      "Created",
      "Scaled",
      "AutoscalingDisabled",
      "Scaled",
    ]);
    await call("DELETE", path);
  });

  it("takes its bounds at the top level or in autoscaling, not differently in both", async () => {
    const r = await call("POST", poolsPath(), {
      name: "twice",
      provider: "ec2",
      maxSize: 3,
      autoscaling: { enabled: true, maxSize: 5 },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.issues).toEqual([
      { path: "autoscaling.maxSize", message: "differs from the top-level maxSize (3)" },
    ]);
    const noSize = await call("POST", poolsPath(), { name: "nosize", provider: "ec2" });
    expect(noSize.status).toBe(400);
    expect(noSize.body.error.message).toBe("desiredSize is required unless autoscaling is enabled");
  });
});

describe("a cluster's autoscaler profile", () => {
  it("has AKS's defaults, takes changes field by field, and refuses what is out of range", async () => {
    const path = `/v1/clusters/${clusterId}`;
    expect((await call("GET", path)).body.autoscalerProfile).toEqual({
      expander: "least-waste",
      scaleDownUtilizationThreshold: 0.5,
      scaleDownUnneededTimeSeconds: 600,
      scaleDownDelayAfterAddSeconds: 600,
    });
    const changed = await call("PATCH", path, { autoscalerProfile: { expander: "priority" } });
    expect(changed.status).toBe(200);
    expect(changed.body.autoscalerProfile).toMatchObject({
      expander: "priority",
      scaleDownUnneededTimeSeconds: 600,
    });
    for (const bad of [
      { scaleDownUtilizationThreshold: 1.5 },
      { expander: "random" },
      { scaleDownUnneededTimeSeconds: -1 },
      { scaleDownDelayAfterAddSeconds: 1.5 },
      { somethingElse: 1 },
    ]) {
      const r = await call("PATCH", path, { autoscalerProfile: bad });
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.error.code).toBe("VALIDATION_FAILED");
    }
    await call("PATCH", path, { autoscalerProfile: { expander: "least-waste" } });
  });
});

describe("pods no pool can help", () => {
  it("get a NotTriggerScaleUp event naming each pool's reason", async () => {
    await call("POST", poolsPath(), { name: "racks", provider: "byo", desiredSize: 0 });
    await call("POST", poolsPath(), {
      name: "general",
      provider: "ec2",
      instanceType: "small",
      autoscaling: { enabled: true, minSize: 0, maxSize: 2 },
    });
    const put = await call("PUT", `/v1/clusters/${clusterId}/deployments/default/huge`, {
      spec: {
        replicas: 1,
        template: {
          spec: {
            containers: [
              { name: "c", image: "localhost/x", resources: { requests: { cpu: "64", memory: "1Gi" } } },
            ],
          },
        },
      },
    });
    expect(put.status).toBe(200);
    const event = await p.waitFor(
      "NotTriggerScaleUp",
      async () =>
        (
          await systemRows(
            p.api.deps.db,
            sql`select message, type from events where cluster_id = ${clusterId} and reason = 'NotTriggerScaleUp'`,
          )
        )[0],
      30_000,
    );
    expect(event.type).toBe("Warning");
    expect(event.message).toContain("pod didn't trigger scale-up: ");
    expect(event.message).toContain("general: Insufficient cpu");
    expect(event.message).toContain("racks: a byo pool: its machines are yours, Berth cannot add one");
    const general = (await call("GET", poolsPath())).body.items.find(
      (x: { name: string }) => x.name === "general",
    );
    expect(general.desiredSize).toBe(0);
  });
});
