import type { TestApi } from "@berth/control-api/testing";
import { systemRows } from "@berth/db/testing";
import type { Ec2Emulator } from "@berth/ec2-emulator";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ec2Platform, startEc2Platform, waitFor } from "./ec2-support";

/**
 * A launch the provider refuses for good (EC2: InvalidAMIID.Malformed) ends in a visible failed
 * state — the machines terminated with the reason, the pool saying why it launches no more — and
 * is not tried again on every pass. Against the EC2 emulator, through the real SDK.
 */
let platform: Ec2Platform;
let api: TestApi;
let ec2: Ec2Emulator;
let token: string;
let clusterId: string;

const call = (method: string, path: string, body?: unknown) => api.call(method, path, { token, body });
const runInstancesCalls = () => ec2.calls().filter((c) => c.action === "RunInstances").length;

beforeAll(async () => {
  platform = await startEc2Platform({ region: "us-east-1", amiId: "not-an-ami" });
  ({ api, ec2 } = platform);
  ({ token } = await api.tenant("refused"));
  clusterId = (await call("POST", "/v1/clusters", { name: "c" })).body.id;
  await waitFor(
    "cluster active",
    async () => (await call("GET", `/v1/clusters/${clusterId}`)).body.status === "active",
  );
});
afterAll(() => platform?.close());

describe("an ec2 pool whose launches EC2 refuses for good", () => {
  it("ends its machines terminated with the reason, says why on the pool, and stops launching", async () => {
    const created = await call("POST", `/v1/clusters/${clusterId}/node-pools`, {
      name: "bad",
      provider: "ec2",
      minSize: 0,
      maxSize: 5,
      desiredSize: 2,
    });
    expect(created.status, created.text).toBe(202);
    const poolId = created.body.id as string;
    const pool = await waitFor("the pool's LaunchFailure", async () => {
      const r = await call("GET", `/v1/clusters/${clusterId}/node-pools/${poolId}`);
      return r.body.conditions.length > 0 && r.body;
    });
    expect(pool.conditions).toEqual([
      {
        type: "LaunchFailure",
        status: "True",
        reason: "ProviderRefused",
        message: expect.stringMatching(
          /^machine bad-\w+: EC2 RunInstances failed: InvalidAMIID\.Malformed: .*; no machine is launched until the pool is updated$/,
        ),
        lastTransitionTime: expect.any(String),
      },
    ]);

    const machines = await waitFor("both machines ended", async () => {
      const rows = await systemRows(api.deps.db, sql`select status, status_reason from machines`);
      return rows.length === 2 && rows.every((m) => m.status === "terminated") && rows;
    });
    for (const m of machines)
      expect(String(m.status_reason)).toMatch(
        /^launch failed: EC2 RunInstances failed: InvalidAMIID\.Malformed/,
      );
    expect(runInstancesCalls()).toBe(2);
    expect(ec2.instances()).toEqual([]);

    // The sweep keeps enqueuing the machine controller every 500 ms: nothing is launched again.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(runInstancesCalls()).toBe(2);
    expect(await systemRows(api.deps.db, sql`select id from machines`)).toHaveLength(2);
    const events = (await call("GET", `/v1/clusters/${clusterId}/events?limit=500`)).body.items as {
      object: string;
      type: string;
      reason: string;
    }[];
    const launchFailed = events.filter((e) => e.reason === "LaunchFailed" && e.type === "Warning");
    expect(launchFailed.filter((e) => e.object === "NodePool/bad")).toHaveLength(2);
    expect(launchFailed.filter((e) => e.object.startsWith("Machine/bad-"))).toHaveLength(2);

    // Updating the pool is the owner's "try again": one more launch, refused again.
    const scaled = await call("PATCH", `/v1/clusters/${clusterId}/node-pools/${poolId}`, { desiredSize: 1 });
    expect(scaled.status, scaled.text).toBe(202);
    expect(scaled.body.conditions).toEqual([]);
    await waitFor("the retried launch refused", async () => runInstancesCalls() === 3);
    await waitFor(
      "the pool blocked again",
      async () =>
        (await call("GET", `/v1/clusters/${clusterId}/node-pools/${poolId}`)).body.conditions.length === 1,
    );
    await new Promise((r) => setTimeout(r, 2_000));
    expect(runInstancesCalls()).toBe(3);
  });
});
