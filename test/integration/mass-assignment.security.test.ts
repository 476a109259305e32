import { type AnyOperation, operations } from "@berth/control-api/operations";
import { systemRows } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kindBodies } from "./catalog-bodies";
import { type Platform, startPlatform } from "./harness";

/**
 * Every write route, given a valid body plus fields the server owns (ids, tenant, status, times)
 * or that do not exist, answers 400 and stores nothing.
 */
const manifest = {
  spec: { replicas: 1, template: { spec: { containers: [{ name: "a", image: "localhost/x" }] } } },
};
const validBodies: Record<string, unknown> = {
  "auth.signup": { tenantName: "mass-x", email: "mass-x@example.test", password: "correct horse battery" },
  "auth.token": { email: "a@b.test", password: "whatever" },
  "auth.refresh": { refreshToken: "brt_0123456789" },
  "auth.logout": { refreshToken: "brt_0123456789" },
  "tenant.close": { confirm: "mass-tenant" },
  "tenant.update": { allowedImagePrefixes: ["localhost/"] },
  "clusters.create": { name: "mass" },
  "clusters.createJoinToken": {},
  "clusters.rotateKey": {},
  "clusters.update": { tags: { team: "a" } },
  "nodePools.create": { name: "p", provider: "byo", desiredSize: 0 },
  "nodePools.update": { desiredSize: 1 },
  "nodes.drain": {},
  "nodes.cordon": {},
  "nodes.uncordon": {},
  "nodes.join": {
    joinToken: "bjt_0123456789",
    name: "n",
    capacity: { cpuMillis: 1000, memoryBytes: 1024 ** 3, pods: 10 },
    portRange: { min: 30000, max: 30010 },
    address: "127.0.0.1",
  },
  "nodes.sync": { pods: [] },
  "nodes.heartbeat": {},
  "nodes.certificate": {
    publicKey:
      "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PUBLIC KEY-----\n",
    tunnelPort: 7443,
  },
  "nodes.metrics": { pods: [], node: [] },
  "deployments.upsert": manifest,
  "pods.exec": { command: ["id"] },
  "deployments.rollback": { toRevision: 1 },
  "deployments.scale": { spec: { replicas: 2 } },
  "deployments.pause": {},
  "deployments.resume": {},
  "users.create": { email: "mass@example.test", password: "correct horse battery" },
  "users.update": { status: "active" },
  "serviceAccounts.create": { name: "mass" },
  "apiKeys.create": {},
  "policies.create": {
    name: "Mass",
    document: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] },
  },
  "policies.attach": { principalId: "usr_x" },
  "iam.simulate": { principalId: "usr_x", action: "cluster:List", resource: "*" },
  "budgets.create": { name: "mass", amount: "10", scope: { type: "tenant" } },
  "budgets.update": { amount: "20" },
  "webhooks.create": { url: "https://hooks.example.com/berth", events: ["budget.threshold"] },
};
Object.assign(validBodies, kindBodies);

const injected = {
  id: "forged-id",
  tenantId: "ten_forged",
  status: "active",
  createdAt: "2000-01-01T00:00:00Z",
  isAdmin: true,
};

let p: Platform;
let token: string;
let clusterId: string;
let nodeCredential: string;
beforeAll(async () => {
  p = await startPlatform();
  ({ token } = await p.api.tenant("mass-tenant"));
  clusterId = await p.activeCluster(token, "mass-cluster");
  const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
  const joined = await p.api.call("POST", "/v1/nodes/join", {
    body: { ...(validBodies["nodes.join"] as object), joinToken: jt.body.token },
  });
  nodeCredential = joined.body.credential;
});
afterAll(() => p.close());

describe("mass assignment", () => {
  it("rejects server-owned and unknown fields on every write route, and persists nothing", async () => {
    const covered: string[] = [];
    for (const op of Object.values(operations) as AnyOperation[]) {
      if (op.method === "GET" || op.method === "DELETE") continue;
      expect(op.id in validBodies, `a valid body for ${op.id}`).toBe(true);
      const path = op.path.replace(":clusterId", clusterId).replace(/:(\w+)/g, "x");
      const auth = op.auth === "user" ? token : op.auth === "node" ? nodeCredential : undefined;
      const valid = validBodies[op.id] as Record<string, unknown>;
      // A manifest's server-owned fields are ignored (GET → edit → PUT round-trips, as in
      // Kubernetes; the next test shows they are not stored); its unknown fields are refused.
      const body = op.bodyAs ? { ...valid, kindOfThing: "forged" } : { ...valid, ...injected };
      const r = await p.api.call(op.method, path, { token: auth, body });
      expect(r.status, `${op.id} → ${r.status} ${r.text}`).toBe(400);
      expect(r.body.error.code).toBe("VALIDATION_FAILED");
      covered.push(op.id);
    }
    const writes = Object.values(operations).filter(
      (o) => o.method !== "GET" && o.method !== "DELETE",
    ).length;
    expect(covered).toHaveLength(writes);
    const forged = await systemRows(
      p.api.deps.db,
      sql`
      select (select count(*) from clusters where id = 'forged-id' or tenant_id = 'ten_forged')
           + (select count(*) from users where id = 'forged-id' or tenant_id = 'ten_forged')
           + (select count(*) from deployments where name = 'x') as n`,
    );
    expect(Number(forged[0]?.n)).toBe(0);
    console.log(`mass assignment: ${covered.length} write routes covered`);
  });

  it("ignores a manifest's server-owned fields: status, uid, creationTimestamp are never taken from it", async () => {
    const path = `/v1/clusters/${clusterId}/deployments/default/owned`;
    const r = await p.api.call("PUT", path, {
      token,
      body: {
        ...manifest,
        metadata: { uid: "forged", creationTimestamp: "2000-01-01T00:00:00Z", generation: 99 },
        status: { readyReplicas: 99 },
      },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.metadata.uid).not.toBe("forged");
    expect(r.body.metadata.generation).toBe(1);
    expect(r.body.metadata.creationTimestamp).not.toBe("2000-01-01T00:00:00Z");
    expect(r.body.status.readyReplicas).toBe(0);
  });
});
