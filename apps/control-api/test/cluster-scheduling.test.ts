import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";

/** A cluster's scheduling settings: its scoring strategy, set at create and changed with PATCH. */
let api: TestApi;
let token: string;
beforeAll(async () => {
  api = await createTestApi();
  ({ token } = await api.tenant("scoring"));
});
afterAll(() => api.close());

const create = (body: unknown) => api.call("POST", "/v1/clusters", { token, body });
const patch = (id: string, body: unknown) => api.call("PATCH", `/v1/clusters/${id}`, { token, body });

describe("a cluster's scoring strategy", () => {
  it("is LeastAllocated unless given, can be MostAllocated at create, and changes with PATCH (an event says so)", async () => {
    const spread = await create({ name: "spread" });
    expect(spread.body.scheduling).toEqual({ scoringStrategy: { type: "LeastAllocated" } });
    const packed = await create({
      name: "packed",
      scheduling: { scoringStrategy: { type: "MostAllocated" } },
    });
    expect(packed.status).toBe(202);
    expect(packed.body.scheduling.scoringStrategy.type).toBe("MostAllocated");

    const ratio = {
      type: "RequestedToCapacityRatio",
      resources: [
        { name: "cpu", weight: 2 },
        { name: "berth.dev/gpu", weight: 5 },
      ],
      requestedToCapacityRatio: {
        shape: [
          { utilization: 0, score: 0 },
          { utilization: 100, score: 10 },
        ],
      },
    };
    const changed = await patch(spread.body.id, { scheduling: { scoringStrategy: ratio } });
    expect(changed.status, changed.text).toBe(200);
    expect((await api.call("GET", `/v1/clusters/${spread.body.id}`, { token })).body.scheduling).toEqual({
      scoringStrategy: ratio,
    });
    const events = await api.call("GET", `/v1/clusters/${spread.body.id}/events`, { token });
    expect(
      events.body.items.map((e: { reason: string; message: string }) => [e.reason, e.message]),
    ).toContainEqual(["SchedulingChanged", "scoring strategy RequestedToCapacityRatio"]);
    // Tags alone leave the strategy as it is.
    const tagged = await patch(spread.body.id, { tags: { team: "ml" } });
    expect(tagged.body).toMatchObject({ tags: { team: "ml" }, scheduling: { scoringStrategy: ratio } });
  });

  it.each([
    [{ type: "Packed" }, "scheduling.scoringStrategy.type"],
    [{ type: "RequestedToCapacityRatio" }, "scheduling.scoringStrategy.requestedToCapacityRatio"],
    [
      { type: "MostAllocated", requestedToCapacityRatio: { shape: [{ utilization: 0, score: 0 }] } },
      "scheduling.scoringStrategy.requestedToCapacityRatio",
    ],
    [
      {
        type: "RequestedToCapacityRatio",
        requestedToCapacityRatio: {
          shape: [
            { utilization: 50, score: 5 },
            { utilization: 50, score: 10 },
          ],
        },
      },
      "scheduling.scoringStrategy.requestedToCapacityRatio.shape.1.utilization",
    ],
    [
      {
        type: "RequestedToCapacityRatio",
        requestedToCapacityRatio: { shape: [{ utilization: 0, score: 11 }] },
      },
      "scheduling.scoringStrategy.requestedToCapacityRatio.shape.0.score",
    ],
    [
      { type: "MostAllocated", resources: [{ name: "gpu", weight: 1 }] },
      "scheduling.scoringStrategy.resources.0.name",
    ],
    [
      { type: "MostAllocated", resources: [{ name: "cpu", weight: 0 }] },
      "scheduling.scoringStrategy.resources.0.weight",
    ],
    [
      {
        type: "MostAllocated",
        resources: [
          { name: "cpu", weight: 1 },
          { name: "cpu", weight: 2 },
        ],
      },
      "scheduling.scoringStrategy.resources.1.name",
    ],
  ])("refuses %j with 400 naming %s", async (scoringStrategy, path) => {
    const r = await create({ name: "bad", scheduling: { scoringStrategy } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("VALIDATION_FAILED");
    expect(r.body.error.issues.map((i: { path: string }) => i.path)).toContain(path);
  });
});
