import { generateKeyPairSync } from "node:crypto";
import { loadPlatformKeys } from "@berth/db";
import { exportJWK, generateKeyPair, importPKCS8, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "./harness";

/** RFC 8725's attacks on the tenant API and the node API: every one must be a 401, never a 5xx. */
let p: Platform;
let a: Awaited<ReturnType<Platform["api"]["tenant"]>>;
let issuer: string;
let platformKey: { kid: string; pkcs8: string };
let nodeA: { credential: string; clusterId: string };
let nodeB: { credential: string; clusterId: string };
const outcomes: { attack: string; status: number }[] = [];

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const claims = (over: Record<string, unknown> = {}) => {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: issuer,
    aud: "berth:api",
    sub: a.userId,
    tid: a.tenantId,
    pty: "user",
    iat: now,
    nbf: now,
    exp: now + 600,
    ...over,
  };
};
async function signed(payload: Record<string, unknown>, header: Record<string, unknown> = {}) {
  const key = await importPKCS8(platformKey.pkcs8, "EdDSA");
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "EdDSA", kid: platformKey.kid, typ: "at+jwt", ...header })
    .sign(key);
}

async function joinNode(clusterId: string, token: string, name: string) {
  const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
  const joined = await p.api.call("POST", "/v1/nodes/join", {
    body: {
      joinToken: jt.body.token,
      name,
      capacity: { cpuMillis: 1000, memoryBytes: 1024 ** 3, pods: 10 },
      portRange: { min: 30000, max: 30010 },
      address: "127.0.0.1",
    },
  });
  return { credential: joined.body.credential as string, clusterId };
}

beforeAll(async () => {
  p = await startPlatform();
  a = await p.api.tenant("jwt-a");
  issuer = p.api.deps.publicUrl;
  const keys = await loadPlatformKeys(p.api.deps.db, p.api.deps.master);
  platformKey = { kid: keys.active.kid, pkcs8: keys.active.privatePkcs8 };
  nodeA = await joinNode(await p.activeCluster(a.token, "cluster-a"), a.token, "node-a");
  nodeB = await joinNode(await p.activeCluster(a.token, "cluster-b"), a.token, "node-b");
});
afterAll(async () => {
  console.log(
    `jwt attacks: ${outcomes.length} attacks, ${outcomes.filter((o) => o.status === 401).length} × 401, ${outcomes.filter((o) => o.status >= 500).length} × 5xx`,
  );
  await p.close();
});

async function attack(name: string, token: string, route: "tenant" | "node" = "tenant") {
  const r =
    route === "tenant"
      ? await p.api.call("GET", "/v1/clusters", { token })
      : await p.api.call("POST", "/v1/nodes/sync", { token, body: { pods: [] } });
  outcomes.push({ attack: name, status: r.status });
  return r;
}

describe("JWT attacks are refused with 401", () => {
  it("accepts the genuine article (control)", async () => {
    expect((await p.api.call("GET", "/v1/clusters", { token: await signed(claims()) })).status).toBe(200);
  });

  const tenantAttacks: [string, () => Promise<string>][] = [
    ["alg none", async () => `${b64({ alg: "none", typ: "at+jwt" })}.${b64(claims())}.`],
    [
      "alg none, upper case",
      async () => `${b64({ alg: "NONE", typ: "at+jwt", kid: platformKey.kid })}.${b64(claims())}.`,
    ],
    [
      "HS256 signed with the public key as the secret",
      async () => {
        const jwks = (await p.api.call("GET", "/.well-known/jwks.json")).body;
        const secret = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
        return new SignJWT(claims())
          .setProtectedHeader({ alg: "HS256", kid: platformKey.kid, typ: "at+jwt" })
          .sign(secret);
      },
    ],
    [
      "ES256 with an attacker's key and the platform's kid",
      async () => {
        const { privateKey } = await generateKeyPair("ES256");
        return new SignJWT(claims())
          .setProtectedHeader({ alg: "ES256", kid: platformKey.kid, typ: "at+jwt" })
          .sign(privateKey);
      },
    ],
    [
      "unknown kid, attacker's Ed25519 key",
      async () => {
        const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
        return new SignJWT(claims())
          .setProtectedHeader({ alg: "EdDSA", kid: "attacker", typ: "at+jwt" })
          .sign(privateKey);
      },
    ],
    [
      "embedded jwk header (self-signed)",
      async () => {
        const { privateKey, publicKey } = generateKeyPairSync("ed25519");
        const jwk = await exportJWK(publicKey);
        return new SignJWT(claims())
          .setProtectedHeader({ alg: "EdDSA", jwk, typ: "at+jwt" })
          .sign(privateKey);
      },
    ],
    ["expired", () => signed(claims({ exp: Math.floor(Date.now() / 1000) - 120 }))],
    [
      "not yet valid (nbf in the future)",
      () => signed(claims({ nbf: Math.floor(Date.now() / 1000) + 3600 })),
    ],
    ["wrong issuer", () => signed(claims({ iss: "https://evil.example" }))],
    ["wrong audience", () => signed(claims({ aud: "berth:cluster:cl_x" }))],
    ["wrong type header", () => signed(claims(), { typ: "JWT" })],
    ["missing principal type", () => signed(claims({ pty: undefined }))],
    [
      "tampered payload (other tenant id)",
      async () => {
        const [h, , s] = (await signed(claims())).split(".");
        return `${h}.${b64(claims({ tid: "ten_someoneelse0000000000000" }))}.${s}`;
      },
    ],
    ["garbage", async () => "eyJhbGciOiJFZERTQSJ9.bm90IGpzb24.c2ln"],
    ["a node credential on the tenant API", async () => nodeA.credential],
  ];
  it.each(tenantAttacks)("%s", async (name, make) => {
    const r = await attack(name, await make());
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("UNAUTHENTICATED");
  });

  it("refuses a tenant access token on the node API", async () => {
    expect((await attack("access token on the node API", a.token, "node")).status).toBe(401);
  });

  it("refuses cluster A's node credential re-addressed to cluster B", async () => {
    const [h, payload, s] = nodeA.credential.split(".");
    const moved = {
      ...JSON.parse(Buffer.from(payload ?? "", "base64url").toString()),
      cid: nodeB.clusterId,
      aud: `berth:cluster:${nodeB.clusterId}`,
    };
    expect(
      (await attack("cluster A credential for cluster B", `${h}.${b64(moved)}.${s}`, "node")).status,
    ).toBe(401);
    // And cluster B's real credential still works (control).
    expect(
      (await p.api.call("POST", "/v1/nodes/sync", { token: nodeB.credential, body: { pods: [] } })).status,
    ).toBe(200);
  });

  it("refuses tokens minted from a revoked API key", async () => {
    const key = await p.api.call("POST", "/v1/api-keys", { token: a.token, body: {} });
    const t = (await p.api.call("POST", "/v1/auth/token", { body: { apiKey: key.body.key } })).body
      .accessToken;
    expect((await p.api.call("GET", "/v1/clusters", { token: t })).status).toBe(200);
    await p.api.call("DELETE", `/v1/api-keys/${key.body.id}`, { token: a.token });
    expect((await attack("token of a revoked API key", t)).status).toBe(401);
  });

  it("refuses tokens of a disabled user", async () => {
    const u = await p.api.call("POST", "/v1/users", {
      token: a.token,
      body: { email: "victim@jwt.test", password: "a long enough password" },
    });
    await p.api.call("POST", "/v1/policies/ReadOnlyAccess/attachments", {
      token: a.token,
      body: { principalId: u.body.id },
    });
    const t = (
      await p.api.call("POST", "/v1/auth/token", {
        body: { email: "victim@jwt.test", password: "a long enough password" },
      })
    ).body.accessToken;
    await p.api.call("PATCH", `/v1/users/${u.body.id}`, { token: a.token, body: { status: "disabled" } });
    expect((await attack("token of a disabled user", t)).status).toBe(401);
  });

  it("never answered an attack with a 5xx", () => {
    expect(outcomes.length).toBeGreaterThanOrEqual(19);
    expect(outcomes.filter((o) => o.status >= 500)).toEqual([]);
  });
});
