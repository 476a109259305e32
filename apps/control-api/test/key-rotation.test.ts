import { rotatePlatformKey } from "@berth/db";
import { decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAccessTokens } from "../src/auth/access-tokens";
import { createTestApi, TEST_PUBLIC_URL, type TestApi } from "../src/testing";

let api: TestApi;
let admin: Awaited<ReturnType<TestApi["tenant"]>>;
beforeAll(async () => {
  api = await createTestApi();
  admin = await api.tenant("rotation");
});
afterAll(() => api.close());

describe("signing key rotation", () => {
  it("rotates the signing key: new tokens use the new key, old ones verify until they expire, the JWKS shows both", async () => {
    const oldKid = decodeProtectedHeader(admin.token).kid;
    await rotatePlatformKey(api.deps.db, api.deps.master, {
      now: new Date(),
      maxAgeMs: 0,
      tokenTtlMs: 900_000,
      force: true,
    });
    // A replica started after the rotation signs with the new key...
    const replica = await createTestApi({
      database: api.database,
      masterKey: api.deps.master.key.toString("base64"),
    });
    try {
      const fresh = await replica.tenant("rotated");
      const newKid = decodeProtectedHeader(fresh.token).kid;
      expect(newKid).not.toBe(oldKid);
      // ...still accepts tokens of the old key, and the replica that has not reloaded yet accepts the new one.
      expect((await replica.call("GET", "/v1/me", { token: admin.token })).status).toBe(200);
      expect((await api.call("GET", "/v1/me", { token: fresh.token })).status).toBe(200);
      const kids = (await replica.call("GET", "/.well-known/jwks.json")).body.keys.map(
        (k: { kid: string }) => k.kid,
      );
      expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));
    } finally {
      await replica.close();
    }
    // Once every token of the old key has expired, it retires: its tokens fail and it leaves the JWKS.
    await rotatePlatformKey(api.deps.db, api.deps.master, {
      now: new Date(Date.now() + 3_600_000),
      maxAgeMs: Number.MAX_SAFE_INTEGER,
      tokenTtlMs: 900_000,
    });
    const later = await createTestApi({
      database: api.database,
      masterKey: api.deps.master.key.toString("base64"),
    });
    try {
      expect((await later.call("GET", "/v1/me", { token: admin.token })).status).toBe(401);
      const kids = (await later.call("GET", "/.well-known/jwks.json")).body.keys.map(
        (k: { kid: string }) => k.kid,
      );
      expect(kids).not.toContain(oldKid);
    } finally {
      await later.close();
    }
  });

  it("remembers a verified token only while it is valid: expired, or altered by a character, it is refused", async () => {
    const tokens = await loadAccessTokens(api.deps.db, api.deps.master, {
      issuer: TEST_PUBLIC_URL,
      ttlSeconds: 1,
    });
    const { accessToken } = await tokens.issue({
      tenantId: admin.tenantId,
      principalId: admin.userId,
      principalType: "user",
    });
    const first = await tokens.verify(accessToken);
    expect(await tokens.verify(accessToken)).toEqual(first);
    const last = accessToken.at(-2) === "A" ? "B" : "A";
    const altered = `${accessToken.slice(0, -2)}${last}${accessToken.slice(-1)}`;
    await expect(tokens.verify(altered)).rejects.toThrow(/invalid or expired/);
    await new Promise((r) => setTimeout(r, first.expiresAt - Date.now() + 50));
    await expect(tokens.verify(accessToken)).rejects.toThrow(/invalid or expired/);
  });
});
