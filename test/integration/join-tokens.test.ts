import { systemRows } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "./harness";

/** Join tokens: how many nodes they admit, listing and revoking them, and the names nodes take. */
let p: Platform;
let a: { token: string; tenantId: string };
let b: { token: string; tenantId: string };
let clusterId: string;

const joinBody = (joinToken: string, name: string, extra: Record<string, unknown> = {}) => ({
  joinToken,
  name,
  capacity: { cpuMillis: 2000, memoryBytes: 2 * 1024 ** 3, pods: 10 },
  portRange: { min: 30000, max: 30010 },
  address: "127.0.0.1",
  ...extra,
});
const join = (joinToken: string, name: string, extra: Record<string, unknown> = {}) =>
  p.api.call("POST", "/v1/nodes/join", { body: joinBody(joinToken, name, extra) });
const newToken = (body: Record<string, unknown> = {}, token = a.token, cluster = clusterId) =>
  p.api.call("POST", `/v1/clusters/${cluster}/join-tokens`, { token, body });

beforeAll(async () => {
  p = await startPlatform();
  a = await p.api.tenant("tokens-a");
  b = await p.api.tenant("tokens-b");
  clusterId = await p.activeCluster(a.token, "c");
});
afterAll(() => p.close());

describe("join tokens", () => {
  it("admit one node by default, live 30 minutes, and answer a second join with 401", async () => {
    const before = Date.now();
    const t = await newToken({ description: "rack 4" });
    expect(t.status).toBe(201);
    expect(t.body).toMatchObject({
      id: expect.stringMatching(/^jt_/),
      maxUses: 1,
      usedCount: 0,
      description: "rack 4",
    });
    const ttl = Date.parse(t.body.expiresAt) - before;
    expect(ttl).toBeGreaterThan(1790_000);
    expect(ttl).toBeLessThan(1810_000);
    expect((await join(t.body.token, "one-a")).status).toBe(201);
    const second = await join(t.body.token, "one-b");
    expect(second.status).toBe(401);
    expect(second.body.error.code).toBe("UNAUTHENTICATED");
  });

  it("admit as many nodes as maxUses says, and any number only when asked for with null", async () => {
    const two = await newToken({ maxUses: 2 });
    expect((await join(two.body.token, "two-a")).status).toBe(201);
    expect((await join(two.body.token, "two-b")).status).toBe(201);
    expect((await join(two.body.token, "two-c")).status).toBe(401);
    const any = await newToken({ maxUses: null });
    expect(any.body.maxUses).toBeNull();
    for (const name of ["any-a", "any-b", "any-c"])
      expect((await join(any.body.token, name)).status).toBe(201);
  });

  it("let exactly one of many concurrent joins through a one-use token", async () => {
    const t = await newToken();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => join(t.body.token, `race-${i}`).then((r) => r.status)),
    );
    expect(results.filter((s) => s === 201)).toHaveLength(1);
    expect(results.filter((s) => s === 401)).toHaveLength(5);
  });

  it("are listed with their use counts and never with their secret", async () => {
    const t = await newToken({ description: "listed", maxUses: 3 });
    await join(t.body.token, "listed-a");
    const list = await p.api.call("GET", `/v1/clusters/${clusterId}/join-tokens`, { token: a.token });
    expect(list.status).toBe(200);
    const item = list.body.items.find((x: { id: string }) => x.id === t.body.id);
    expect(item).toEqual({
      id: t.body.id,
      description: "listed",
      poolId: null,
      machineId: null,
      expiresAt: t.body.expiresAt,
      usedCount: 1,
      maxUses: 3,
      revokedAt: null,
      createdBy: expect.stringMatching(/^usr_/),
      createdAt: expect.any(String),
    });
    expect(list.text).not.toContain(t.body.token);
    expect(list.text).not.toMatch(/tokenHash|bjt_/);
  });

  it("are revoked: no join any more, nodes that joined stay, revoking again changes nothing", async () => {
    const t = await newToken({ maxUses: 5 });
    expect((await join(t.body.token, "revoked-a")).status).toBe(201);
    const r = await p.api.call("DELETE", `/v1/clusters/${clusterId}/join-tokens/${t.body.id}`, {
      token: a.token,
    });
    expect(r.status).toBe(200);
    expect(r.body.revokedAt).toEqual(expect.any(String));
    expect((await join(t.body.token, "revoked-b")).status).toBe(401);
    const again = await p.api.call("DELETE", `/v1/clusters/${clusterId}/join-tokens/${t.body.id}`, {
      token: a.token,
    });
    expect(again.body.revokedAt).toBe(r.body.revokedAt);
    const nodes = await p.api.call("GET", `/v1/clusters/${clusterId}/nodes`, { token: a.token });
    expect(nodes.body.items.map((n: { name: string }) => n.name)).toContain("revoked-a");
  });

  it("of another tenant are 404, listed or revoked", async () => {
    const t = await newToken();
    const list = await p.api.call("GET", `/v1/clusters/${clusterId}/join-tokens`, { token: b.token });
    expect(list.status).toBe(404);
    const revoke = await p.api.call("DELETE", `/v1/clusters/${clusterId}/join-tokens/${t.body.id}`, {
      token: b.token,
    });
    expect(revoke.status).toBe(404);
    expect((await join(t.body.token, "still-usable")).status).toBe(201);
  });

  it("are authorised per token: a Deny on one token's resource stops revoking that one only", async () => {
    const keep = await newToken();
    const other = await newToken();
    const email = `ops-${Date.now()}@tokens.test`;
    const user = await p.api.call("POST", "/v1/users", {
      token: a.token,
      body: { email, password: "a long enough password" },
    });
    await p.api.call("POST", "/v1/policies/AdministratorAccess/attachments", {
      token: a.token,
      body: { principalId: user.body.id },
    });
    const policy = await p.api.call("POST", "/v1/policies", {
      token: a.token,
      body: {
        name: "KeepThatToken",
        document: {
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Deny",
              Action: "cluster:RevokeJoinToken",
              Resource: `brn:berth:${a.tenantId}:cluster/${clusterId}/join-token/${keep.body.id}`,
            },
          ],
        },
      },
    });
    await p.api.call("POST", `/v1/policies/${policy.body.id}/attachments`, {
      token: a.token,
      body: { principalId: user.body.id },
    });
    const login = await p.api.call("POST", "/v1/auth/token", {
      body: { email, password: "a long enough password" },
    });
    const as = login.body.accessToken;
    const denied = await p.api.call("DELETE", `/v1/clusters/${clusterId}/join-tokens/${keep.body.id}`, {
      token: as,
    });
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toMatch(/cluster:RevokeJoinToken/);
    const allowed = await p.api.call("DELETE", `/v1/clusters/${clusterId}/join-tokens/${other.body.id}`, {
      token: as,
    });
    expect(allowed.status).toBe(200);
  });

  it("refuse hostile input on every join-token route with a 4xx", async () => {
    const bad: [string, string, unknown][] = [
      ["POST", `/v1/clusters/${clusterId}/join-tokens`, { description: "a\u0000b" }],
      ["POST", `/v1/clusters/${clusterId}/join-tokens`, { description: "\uD800" }],
      ["POST", `/v1/clusters/${clusterId}/join-tokens`, { maxUses: 1e308 }],
      ["POST", `/v1/clusters/${clusterId}/join-tokens`, { ttlSeconds: 2 ** 62 }],
      ["POST", `/v1/clusters/${clusterId}/join-tokens`, { maxUses: 0 }],
      ["POST", `/v1/clusters/${clusterId}/join-tokens`, { poolId: "../x" }],
      ["POST", "/v1/clusters/cl%00x/join-tokens", {}],
      ["GET", "/v1/clusters/%F0%9F%98%80/join-tokens", undefined],
      ["GET", `/v1/clusters/${clusterId}/join-tokens?limit=1e400`, undefined],
      ["GET", `/v1/clusters/${clusterId}/join-tokens?cursor=%00`, undefined],
      ["DELETE", `/v1/clusters/${clusterId}/join-tokens/jt_%00`, undefined],
      ["DELETE", `/v1/clusters/${clusterId}/join-tokens/not-an-id`, undefined],
      ["DELETE", `/v1/clusters/${clusterId}/join-tokens/jt_${"x".repeat(500)}`, undefined],
      ["DELETE", `/v1/clusters/${clusterId}/join-tokens/jt_0000000000000000000000000x`, undefined],
    ];
    for (const [method, path, body] of bad) {
      const r = await p.api.call(method, path, { token: a.token, body });
      expect(r.status, `${method} ${path} → ${r.status} ${r.text}`).toBeGreaterThanOrEqual(400);
      expect(r.status, `${method} ${path} → ${r.status} ${r.text}`).toBeLessThan(500);
    }
  });
});

describe("joining", () => {
  it("refuses labels only the platform sets, naming the label", async () => {
    for (const key of [
      "berth.io/pool",
      "kubernetes.io/hostname",
      "node.kubernetes.io/x",
      "topology.kubernetes.io/zone",
    ]) {
      const t = await newToken();
      const r = await join(t.body.token, "labelled", { labels: { [key]: "spoofed" } });
      expect(r.status, key).toBe(400);
      expect(r.body.error.message).toContain(key);
      // A refused join does not spend the token.
      expect((await join(t.body.token, `labelled-${key.length}`, { labels: { disk: "ssd" } })).status).toBe(
        201,
      );
    }
  });

  it("refuses hostile join bodies with a 4xx", async () => {
    const t = await newToken({ maxUses: null });
    for (const extra of [
      { address: "127.0.0.1\u0000" },
      { agentVersion: "\uDC00" },
      { labels: { "a\u0000": "b" } },
      { capacity: { cpuMillis: 1e308, memoryBytes: 1, pods: 1 } },
      { name: "x".repeat(10_000) },
    ]) {
      const r = await join(t.body.token, "hostile", extra);
      expect(r.status, JSON.stringify(extra)).toBe(400);
    }
    expect((await join("bjt_\u0000\u0000\u0000\u0000\u0000\u0000", "hostile")).status).toBe(400);
  });

  it("refuses the name of a live node with 409, and does not spend the token", async () => {
    const first = await newToken();
    expect((await join(first.body.token, "taken")).status).toBe(201);
    const t = await newToken();
    const r = await join(t.body.token, "taken");
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("CONFLICT");
    expect((await join(t.body.token, "not-taken")).status).toBe(201);
  });

  it("admits agents within the version skew and refuses the rest with 409 AGENT_VERSION_UNSUPPORTED, not spending the token", async () => {
    const t = await newToken({ maxUses: null });
    for (const [version, why] of [
      ["0.2.0", /is newer than this control plane \(0\.1\); an agent may not be newer/],
      ["0.2.0+3f9c0a1b2c4d", /is newer than this control plane/],
      ["1.0.0", /is of major release 1; this control plane runs 0\.1/],
    ] as const) {
      const r = await join(t.body.token, "skewed", { agentVersion: version });
      expect(r.status, version).toBe(409);
      expect(r.body.error.code).toBe("AGENT_VERSION_UNSUPPORTED");
      expect(r.body.error.message).toMatch(why);
      expect(r.body.error.message).toContain("Reinstall the agent this control plane serves: curl -fsSL");
    }
    for (const version of ["test", "0.1", "v0.1.0"]) {
      const r = await join(t.body.token, "skewed", { agentVersion: version });
      expect(r.status, version).toBe(400);
      expect(r.body.error.code).toBe("VALIDATION_FAILED");
    }
    const list = await p.api.call("GET", `/v1/clusters/${clusterId}/join-tokens`, { token: a.token });
    expect(list.body.items.find((x: { id: string }) => x.id === t.body.id)?.usedCount).toBe(0);
    for (const [i, version] of ["0.1.0", "0.1.7+3f9c0a1b2c4d", "0.0.3"].entries())
      expect((await join(t.body.token, `in-window-${i}`, { agentVersion: version })).status, version).toBe(
        201,
      );
  });

  it("records the version a heartbeat names, with an event when it changes", async () => {
    const t = await newToken();
    const joined = await join(t.body.token, "updating", { agentVersion: "0.1.0+aaaaaaaaaaaa" });
    const beat = (body: Record<string, unknown>) =>
      p.api.call("POST", "/v1/nodes/heartbeat", { token: joined.body.credential, body });
    const versionOf = async () =>
      (await p.api.call("GET", `/v1/clusters/${clusterId}/nodes`, { token: a.token })).body.items.find(
        (n: { name: string }) => n.name === "updating",
      )?.agentVersion;
    expect(await versionOf()).toBe("0.1.0+aaaaaaaaaaaa");
    // No bundle built in this process yet: nothing is announced (and nothing waits for a build).
    const first = await beat({});
    expect(first.status).toBe(200);
    expect(first.body.agent).toBeUndefined();
    expect((await beat({ agentVersion: "0.1.0+bbbbbbbbbbbb" })).status).toBe(200);
    expect((await beat({ agentVersion: "0.1.0+bbbbbbbbbbbb" })).status).toBe(200);
    expect(await versionOf()).toBe("0.1.0+bbbbbbbbbbbb");
    expect((await beat({ agentVersion: "latest" })).status).toBe(400);
    const events = await systemRows(
      p.api.deps.db,
      sql`select message from events where object_name = 'updating' and reason = 'AgentVersionChanged'`,
    );
    expect(events.map((e) => e.message)).toEqual([
      "the node agent runs 0.1.0+bbbbbbbbbbbb (was 0.1.0+aaaaaaaaaaaa)",
    ]);
  });

  it("retires a node silent past its lease when another joins under its name: new id, old credential refused", async () => {
    const first = await newToken();
    const old = await join(first.body.token, "phoenix");
    expect(
      (await p.api.call("POST", "/v1/nodes/heartbeat", { token: old.body.credential, body: {} })).status,
    ).toBe(200);
    // The provisioner's sweep marks it not_ready once its lease lapses.
    await p.waitFor("phoenix not ready", async () => {
      const nodes = await p.api.call("GET", `/v1/clusters/${clusterId}/nodes`, { token: a.token });
      return nodes.body.items.find((n: { name: string }) => n.name === "phoenix")?.status === "not_ready";
    });
    const t = await newToken();
    const fresh = await join(t.body.token, "phoenix");
    expect(fresh.status).toBe(201);
    expect(fresh.body.nodeId).not.toBe(old.body.nodeId);
    for (const [method, path, body] of [
      ["POST", "/v1/nodes/heartbeat", {}],
      ["POST", "/v1/nodes/sync", { pods: [] }],
      ["GET", "/v1/nodes/watch?waitMs=0", undefined],
    ] as const) {
      const r = await p.api.call(method, path, { token: old.body.credential, body });
      expect(r.status, `${method} ${path}`).toBe(401);
    }
    expect(
      (await p.api.call("POST", "/v1/nodes/heartbeat", { token: fresh.body.credential, body: {} })).status,
    ).toBe(200);
    const [row] = await systemRows(
      p.api.deps.db,
      sql`select status, status_reason from nodes where id = ${old.body.nodeId}`,
    );
    expect(row).toMatchObject({ status: "left", status_reason: expect.stringMatching(/replaced/) });
  });
});
