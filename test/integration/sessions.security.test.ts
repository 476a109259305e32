import { createTestApi, type TestApi } from "@berth/control-api/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let api: TestApi;
let admin: Awaited<ReturnType<TestApi["tenant"]>>;
beforeAll(async () => {
  api = await createTestApi();
  admin = await api.tenant("sessions");
});
afterAll(() => api.close());

const PASSWORD = "a long enough password";
const from = (ip: string) => ({ "x-forwarded-for": ip });

async function newUser(email: string, policy?: string) {
  const r = await api.call("POST", "/v1/users", { token: admin.token, body: { email, password: PASSWORD } });
  expect(r.status).toBe(201);
  if (policy)
    expect(
      (
        await api.call("POST", `/v1/policies/${policy}/attachments`, {
          token: admin.token,
          body: { principalId: r.body.id },
        })
      ).status,
    ).toBe(201);
  return r.body.id as string;
}

async function signIn(email: string, ip = "198.51.100.1") {
  const t = await api.call("POST", "/v1/auth/token", {
    body: { email, password: PASSWORD },
    headers: from(ip),
  });
  expect(t.status, t.text).toBe(200);
  return { token: t.body.accessToken as string, refreshToken: t.body.refreshToken as string };
}

const guess = (email: string, ip: string, i: number) =>
  api.call("POST", "/v1/auth/token", { body: { email, password: `wrong guess ${i}` }, headers: from(ip) });

describe("sign-in throttling", () => {
  it("evaluates at most the limit of 50 parallel wrong passwords; the owner still signs in from elsewhere", async () => {
    const email = "victim@sessions.test";
    await newUser(email);
    await signIn(email, "198.51.100.7"); // the owner's usual address
    const statuses = (
      await Promise.all(Array.from({ length: 50 }, (_, i) => guess(email, "203.0.113.9", i)))
    ).map((r) => r.status);
    const evaluated = statuses.filter((s) => s === 401).length;
    const refused = statuses.filter((s) => s === 429).length;
    console.log(`login race: 50 parallel guesses → ${evaluated} evaluated (401), ${refused} refused (429)`);
    expect(evaluated).toBe(api.deps.limits.loginFailuresPerAccountAndIp);
    expect(refused).toBe(50 - evaluated);
    // The attacker's address is locked for this account, the owner is not.
    expect(
      (
        await api.call("POST", "/v1/auth/token", {
          body: { email, password: PASSWORD },
          headers: from("203.0.113.9"),
        })
      ).status,
    ).toBe(429);
    await signIn(email, "198.51.100.7");
    await signIn(email, "198.51.100.8");
  });

  it("limits guesses spread over many addresses account-wide, but not from an address the owner used", async () => {
    const email = "spread@sessions.test";
    await newUser(email);
    await signIn(email, "198.51.100.20");
    const limit = api.deps.limits.loginFailuresPerAccount;
    for (let i = 0; i < limit; i++) expect((await guess(email, `203.0.113.${i}`, i)).status).toBe(401);
    expect((await guess(email, "203.0.113.200", 999)).status).toBe(429);
    const stranger = await api.call("POST", "/v1/auth/token", {
      body: { email, password: PASSWORD },
      headers: from("192.0.2.77"),
    });
    expect(stranger.status).toBe(429);
    await signIn(email, "198.51.100.20");
  });

  it("counts every call of a tRPC batch, and refuses batches over the size limit", async () => {
    const email = "batched@sessions.test";
    await newUser(email);
    const batch = async (n: number) => {
      const body = Object.fromEntries(
        Array.from({ length: n }, (_, i) => [i, { email, password: `wrong guess ${i}` }]),
      );
      const res = await api.app.request(`/trpc/${Array(n).fill("auth.token").join(",")}?batch=1`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": "203.0.113.50" },
        body: JSON.stringify(body),
      });
      return {
        status: res.status,
        json: (await res.json()) as { error?: { data: { httpStatus: number } } }[],
      };
    };
    const ten = await batch(10);
    const codes = ten.json.map((r) => r.error?.data.httpStatus);
    expect(codes.filter((c) => c === 401)).toHaveLength(api.deps.limits.loginFailuresPerAccountAndIp);
    expect(codes.filter((c) => c === 429)).toHaveLength(10 - api.deps.limits.loginFailuresPerAccountAndIp);
    const fifty = await batch(50);
    expect(fifty.status).toBe(400);
  });
});

describe("sessions end when they should", () => {
  it("signs out: the refresh token's family and its access tokens stop working", async () => {
    const email = "leaver@sessions.test";
    await newUser(email, "ReadOnlyAccess");
    const s = await signIn(email);
    const other = await signIn(email, "198.51.100.2");
    expect((await api.call("GET", "/v1/me", { token: s.token })).status).toBe(200);
    expect(
      (await api.call("POST", "/v1/auth/logout", { body: { refreshToken: s.refreshToken } })).status,
    ).toBe(200);
    expect((await api.call("GET", "/v1/me", { token: s.token })).status).toBe(401);
    expect(
      (await api.call("POST", "/v1/auth/refresh", { body: { refreshToken: s.refreshToken } })).status,
    ).toBe(401);
    // Another session of the same user is untouched.
    expect((await api.call("GET", "/v1/me", { token: other.token })).status).toBe(200);
    // Unknown tokens answer the same as known ones.
    expect(
      (await api.call("POST", "/v1/auth/logout", { body: { refreshToken: "brt_not_a_real_token" } })).status,
    ).toBe(200);
  });

  it("ends every session of a user whose password changed, within the second", async () => {
    const email = "rotated@sessions.test";
    const id = await newUser(email, "ReadOnlyAccess");
    const s = await signIn(email);
    await new Promise((r) => setTimeout(r, 1100)); // tokens have whole-second issue times
    const changed = await api.call("PATCH", `/v1/users/${id}`, {
      token: admin.token,
      body: { password: "another long enough password" },
    });
    expect(changed.status).toBe(200);
    expect((await api.call("GET", "/v1/me", { token: s.token })).status).toBe(401);
    expect(
      (await api.call("POST", "/v1/auth/refresh", { body: { refreshToken: s.refreshToken } })).status,
    ).toBe(401);
    const fresh = await api.call("POST", "/v1/auth/token", {
      body: { email, password: "another long enough password" },
    });
    expect((await api.call("GET", "/v1/me", { token: fresh.body.accessToken })).status).toBe(200);
  });

  it("takes a detached policy's permissions away from live tokens at once", async () => {
    const email = "detached@sessions.test";
    const id = await newUser(email, "ReadOnlyAccess");
    const s = await signIn(email);
    expect((await api.call("GET", "/v1/clusters", { token: s.token })).status).toBe(200);
    await api.call("DELETE", `/v1/policies/ReadOnlyAccess/attachments/${id}`, { token: admin.token });
    expect((await api.call("GET", "/v1/clusters", { token: s.token })).status).toBe(403);
  });
});

describe("API keys", () => {
  it("expire after 90 days unless told otherwise; 'never' only when asked", async () => {
    const k = await api.call("POST", "/v1/api-keys", { token: admin.token, body: { name: "default" } });
    const days = (Date.parse(k.body.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThan(90.1);
    const never = await api.call("POST", "/v1/api-keys", {
      token: admin.token,
      body: { expiresAt: "never" },
    });
    expect(never.status).toBe(201);
    expect(never.body.expiresAt).toBeNull();
  });

  it("count only live keys against the per-principal limit", async () => {
    const sa = await api.call("POST", "/v1/service-accounts", {
      token: admin.token,
      body: { name: "keyring" },
    });
    const mint = () =>
      api.call("POST", "/v1/api-keys", { token: admin.token, body: { principalId: sa.body.id } });
    const keys = [];
    for (let i = 0; i < 10; i++) keys.push(await mint());
    expect(keys.every((k) => k.status === 201)).toBe(true);
    const over = await mint();
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe("QUOTA_EXCEEDED");
    await api.call("DELETE", `/v1/api-keys/${keys[0]?.body.id}`, { token: admin.token });
    expect((await mint()).status).toBe(201);
  });

  it("name the same resource at create, list and revoke, so a self-service policy covers all three", async () => {
    const policy = await api.call("POST", "/v1/policies", {
      token: admin.token,
      body: {
        name: "SelfServiceKeys",
        document: {
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: ["iam:CreateApiKey", "iam:ListApiKeys", "iam:DeleteApiKey"],
              // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable
              Resource: "brn:berth:*:user/${berth:PrincipalId}/api-key/*",
            },
          ],
        },
      },
    });
    expect(policy.status).toBe(201);
    const email = "selfservice@sessions.test";
    const id = await newUser(email, policy.body.id);
    const s = await signIn(email);
    const mine = await api.call("POST", "/v1/api-keys", { token: s.token, body: { name: "mine" } });
    expect(mine.status).toBe(201);
    const listed = await api.call("GET", `/v1/api-keys?principalId=${id}`, { token: s.token });
    expect(listed.body.items.map((k: { id: string }) => k.id)).toEqual([mine.body.id]);
    expect((await api.call("GET", "/v1/api-keys", { token: s.token })).status).toBe(403);
    const adminsKey = await api.call("POST", "/v1/api-keys", { token: admin.token, body: {} });
    expect((await api.call("DELETE", `/v1/api-keys/${adminsKey.body.id}`, { token: s.token })).status).toBe(
      403,
    );
    expect((await api.call("DELETE", `/v1/api-keys/${mine.body.id}`, { token: s.token })).status).toBe(200);
  });
});

describe("nobody grants more than they hold", () => {
  async function userWith(email: string, actions: string[]) {
    const policy = await api.call("POST", "/v1/policies", {
      token: admin.token,
      body: {
        name: `Only-${email.split("@")[0]}`,
        document: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: actions, Resource: "*" }] },
      },
    });
    expect(policy.status).toBe(201);
    const id = await newUser(email, policy.body.id);
    return { id, ...(await signIn(email)) };
  }

  it("refuses to attach Allow */* or AdministratorAccess to oneself with only CreatePolicy and AttachPolicy", async () => {
    const u = await userWith("climber@sessions.test", ["iam:CreatePolicy", "iam:AttachPolicy"]);
    const everything = await api.call("POST", "/v1/policies", {
      token: u.token,
      body: {
        name: "Everything",
        document: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] },
      },
    });
    expect(everything.status).toBe(201);
    const attach = (policyId: string) =>
      api.call("POST", `/v1/policies/${policyId}/attachments`, {
        token: u.token,
        body: { principalId: u.id },
      });
    const own = await attach(everything.body.id);
    expect(own.status).toBe(403);
    expect(own.body.error.message).toMatch(/does not hold|not held/);
    expect((await attach("AdministratorAccess")).status).toBe(403);
    // What it does hold it may pass on.
    const narrow = await api.call("POST", "/v1/policies", {
      token: u.token,
      body: {
        name: "JustCreatePolicy",
        document: {
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "iam:CreatePolicy", Resource: "brn:berth:*:policy/*" }],
        },
      },
    });
    expect((await attach(narrow.body.id)).status).toBe(201);
  });

  it("refuses to mint an API key for a principal that holds more than the caller", async () => {
    const u = await userWith("minter@sessions.test", ["iam:CreateApiKey", "iam:CreateApiKeyForPrincipal"]);
    const forAdmin = await api.call("POST", "/v1/api-keys", {
      token: u.token,
      body: { principalId: admin.userId },
    });
    expect(forAdmin.status).toBe(403);
    // Minting for another principal is its own action.
    const plain = await userWith("plainminter@sessions.test", ["iam:CreateApiKey"]);
    const sa = await api.call("POST", "/v1/service-accounts", {
      token: admin.token,
      body: { name: "empty" },
    });
    expect(
      (await api.call("POST", "/v1/api-keys", { token: plain.token, body: { principalId: sa.body.id } }))
        .status,
    ).toBe(403);
    expect(
      (await api.call("POST", "/v1/api-keys", { token: u.token, body: { principalId: sa.body.id } })).status,
    ).toBe(201);
  });

  it("revokes the keys a user minted for others when the user is disabled", async () => {
    const minter = await newUser("delegate@sessions.test", "AdministratorAccess");
    const s = await signIn("delegate@sessions.test");
    const sa = await api.call("POST", "/v1/service-accounts", {
      token: admin.token,
      body: { name: "deputy" },
    });
    const key = await api.call("POST", "/v1/api-keys", { token: s.token, body: { principalId: sa.body.id } });
    expect(key.status).toBe(201);
    expect((await api.call("POST", "/v1/auth/token", { body: { apiKey: key.body.key } })).status).toBe(200);
    await api.call("PATCH", `/v1/users/${minter}`, { token: admin.token, body: { status: "disabled" } });
    expect((await api.call("POST", "/v1/auth/token", { body: { apiKey: key.body.key } })).status).toBe(401);
  });
});
