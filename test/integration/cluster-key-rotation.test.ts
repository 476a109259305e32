import { systemRows } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "./harness";

let p: Platform;
let token: string;
let clusterId: string;
let oldCredential: string;
beforeAll(async () => {
  p = await startPlatform();
  ({ token } = await p.api.tenant("rotator"));
  clusterId = await p.activeCluster(token, "c");
  const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
  const joined = await p.api.call("POST", "/v1/nodes/join", {
    body: {
      joinToken: jt.body.token,
      name: "n1",
      capacity: { cpuMillis: 1000, memoryBytes: 1024 ** 3, pods: 10 },
      portRange: { min: 30000, max: 30010 },
      address: "127.0.0.1",
    },
  });
  oldCredential = joined.body.credential;
});
afterAll(() => p.close());

const sync = (credential: string) =>
  p.api.call("POST", "/v1/nodes/sync", { token: credential, body: { pods: [] } });

describe("rotating a cluster's signing key", () => {
  it("goes through updating to active with a new key, and hands agents a credential of the new key", async () => {
    const r = await p.api.call("POST", `/v1/clusters/${clusterId}/rotate-key`, { token });
    expect(r.status).toBe(202);
    expect(r.body.status).toBe("updating");
    await p.waitFor(
      "active again",
      async () => (await p.api.call("GET", `/v1/clusters/${clusterId}`, { token })).body.status === "active",
    );
    const events = (await p.api.call("GET", `/v1/clusters/${clusterId}/events`, { token })).body.items.map(
      (e: { reason: string }) => e.reason,
    );
    expect(events).toEqual(expect.arrayContaining(["Updating", "KeyRotated"]));

    const reply = await sync(oldCredential);
    expect(reply.status).toBe(200);
    const fresh = reply.body.credential.credential as string;
    expect(decodeProtectedHeader(fresh).kid).not.toBe(decodeProtectedHeader(oldCredential).kid);
    expect((await sync(fresh)).status).toBe(200);
    expect((await sync(fresh)).body.credential).toBeNull(); // a current credential is not replaced again

    // Once the old key's credentials would have expired, the old key verifies nothing.
    await systemRows(
      p.api.deps.db,
      sql`update clusters set previous_key_retire_at = now() - interval '1 second' where id = ${clusterId}`,
    );
    // Written behind the API's back: the replica drops its verified credentials of the cluster once
    // it hears the change (as every replica does), which the barrier waits for.
    expect(await p.api.deps.assignments.barrier()).toBe(true);
    expect((await sync(oldCredential)).status).toBe(401);
    expect((await sync(fresh)).status).toBe(200);
  });

  it("refuses to rotate a cluster that is not active", async () => {
    const c = await p.api.call("POST", "/v1/clusters", { token, body: { name: "young" } });
    await p.api.call("DELETE", `/v1/clusters/${c.body.id}`, { token });
    const r = await p.api.call("POST", `/v1/clusters/${c.body.id}/rotate-key`, { token });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("CLUSTER_NOT_ACTIVE");
  });
});
